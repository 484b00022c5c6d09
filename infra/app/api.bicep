// The function app on a Flex Consumption (FC1) plan: Python 3.11 in functionAppConfig, the deployment
// package container reached with the user-assigned identity, identity-based AzureWebJobsStorage,
// Application Insights with Entra ID auth, HTTPS only, FTPS and basic publishing credentials off.
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set: Flex Consumption takes the
// runtime from functionAppConfig and rejects those settings.
@description('Function app name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Storage account of AzureWebJobsStorage and the deployment container.')
param storageAccountName string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('App settings the code reads plus the durable backend settings (built in main.bicep).')
param appSettings object

@description('Subnet for VNet integration; empty = none.')
param subnetId string

@description('Memory of each instance in MB (2048 or 4096).')
param instanceMemoryMB int = 2048

@description('Upper bound of instances the plan scales out to.')
param maximumInstanceCount int = 40

module plan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'flex-consumption-plan'
  params: {
    name: planName
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    // Linux: Flex Consumption runs on Linux only.
    reserved: true
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host settings: identity-based storage (no connection string, no key) and Entra-authenticated telemetry.
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

var allSettings = union(appSettings, hostSettings)

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222:The HTTP API is public by design (Logic Apps and clients call it with function keys); the VNet switch makes its backends private.
  //checkov:skip=CKV_AZURE_16:Callers authenticate with function keys (auth level FUNCTION), which Logic Apps and scripts can send; App Service Authentication would lock them out.
  //checkov:skip=CKV_AZURE_17:Client certificates are not used: callers authenticate with function keys over TLS.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales to zero by design; there is no minimum instance count to fail over between.
  //checkov:skip=CKV_AZURE_213:Flex Consumption does not support the App Service health check; GET /api/health serves monitors instead.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.outputs.resourceId
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    // Key Vault references (EMAIL_URI, WEBHOOK_SECRET) resolve with the user-assigned identity.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(allSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// azd deploys to Flex Consumption with Entra ID; FTP and SCM basic-auth publishing stay off.
resource publishingPolicies 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = [
  for policy in [
    'ftp'
    'scm'
  ]: {
    parent: site
    name: policy
    properties: {
      allow: false
    }
  }
]

@description('Function app name.')
output name string = site.name

@description('Base URL of the app (the API is under /api).')
output uri string = 'https://${site.properties.defaultHostName}'
