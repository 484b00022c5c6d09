// Azure OpenAI account (Entra ID only: local auth off, custom subdomain for token auth) and the
// model deployment the app calls. The app's identity holds Cognitive Services OpenAI User.
@description('Account name; also its custom subdomain.')
param name string

@description('Region (must offer the model and SKU).')
param location string

@description('Resource tags.')
param tags object

@description('Deployment name the app calls (AZURE_OPENAI_DEPLOYMENT).')
param deploymentName string

@description('Model name.')
param modelName string

@description('Model version.')
param modelVersion string

@description('Deployment SKU, e.g. GlobalStandard.')
param deploymentSku string

@description('Deployment capacity (thousands of tokens per minute).')
param deploymentCapacity int

@description('Reach the account only over a private endpoint (app/network.bicep).')
param vnetEnabled bool

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  //checkov:skip=CKV_AZURE_134:Public network access stays on without the VNet switch: the function app on shared Flex Consumption workers has no fixed address; auth is Entra ID only (local auth disabled).
  //checkov:skip=CKV_AZURE_238:Customer-managed keys are out of scope; data is encrypted with Microsoft-managed keys.
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: deploymentSku
    capacity: deploymentCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
}

@description('Endpoint the app calls (AZURE_OPENAI_ENDPOINT).')
output endpoint string = account.properties.endpoint

@description('Deployment name (AZURE_OPENAI_DEPLOYMENT).')
output deploymentName string = deployment.name

@description('Account resource id, for the private endpoint.')
output id string = account.id
