// Durable Assistants on Azure: everything `azd up` provisions, keyless and locked down.
// Every module under ./app is one concern; this file names things, wires outputs to inputs and
// declares the app settings the code reads (core/settings.py SETTINGS; tests/infra checks the match).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; with the subscription and location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource (Flex Consumption, Durable Task Scheduler and the model must be offered there).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Region of the Azure OpenAI account when the model is not offered in `location`; empty = `location`.')
param openAiLocation string = ''

@description('Object id of the developer running azd; gets the same data-plane roles as the app. Empty = none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal `principalId` names.')
param principalType string = 'User'

@description('Model to deploy (a model that supports the Responses API).')
param openAiModelName string = 'gpt-4o'

@description('Model version.')
param openAiModelVersion string = '2024-11-20'

@description('Deployment name the app calls (AZURE_OPENAI_DEPLOYMENT); empty = the model name.')
param openAiDeploymentName string = ''

@allowed([
  'GlobalStandard'
  'DataZoneStandard'
  'Standard'
])
@description('Deployment SKU: pay-per-token, nothing billed while idle.')
param openAiDeploymentSku string = 'GlobalStandard'

@minValue(1)
@description('Deployment capacity in thousands of tokens per minute.')
param openAiDeploymentCapacity int = 30

@description('api-version of the assistants backend (OPENAI_API_VERSION).')
param openAiApiVersion string = '2024-05-01-preview'

@allowed([
  'responses'
  'assistants'
])
@description('Model API the app uses (ASSISTANTS_BACKEND).')
param assistantsBackend string = 'responses'

@description('Comma list of addresses and @domains send_email may write to (EMAIL_ALLOWED_RECIPIENTS); empty = deny all.')
param emailAllowedRecipients string = ''

@description('Quote source URL template with {symbol} (STOCK_QUOTES_URI); empty = no quote source.')
param stockQuotesUri string = ''

@description('Assistant used when a request names none (DEFAULT_ASSISTANT).')
param defaultAssistant string = 'portfolio'

@allowed([
  'durableTaskScheduler'
  'azureStorage'
])
@description('Durable Functions backend. azureStorage also needs the host.json change in the README.')
param durableBackend string = 'durableTaskScheduler'

@allowed([
  'Consumption'
  'Dedicated'
])
@description('Durable Task Scheduler SKU: Consumption bills per orchestration action, Dedicated per capacity unit.')
param durableTaskSchedulerSku string = 'Consumption'

@minValue(1)
@description('Capacity units of a Dedicated scheduler (ignored for Consumption).')
param durableTaskSchedulerCapacity int = 1

@description('Task hub name (TASKHUB_NAME; host.json reads %TASKHUB_NAME%).')
param taskHubName string = 'DurableAssistants'

@description('Integrate the function app with a VNet and reach storage, Key Vault and OpenAI over private endpoints.')
param vnetEnabled bool = false

@secure()
@description('HMAC key signing callback_url POSTs; azd keeps it stable through secretOrRandomPassword.')
param webhookSecret string

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var deploymentName = empty(openAiDeploymentName) ? openAiModelName : openAiDeploymentName

// Queue and table names the app uses (defaults of REQUESTS_QUEUE / REPLIES_QUEUE; the rejected queue
// is `<requests>-rejected`; the Functions host creates `<requests>-poison` itself).
var requestsQueue = 'conversation-requests'
var repliesQueue = 'conversation-replies'
var queueNames = [
  requestsQueue
  repliesQueue
  '${requestsQueue}-rejected'
]
var tableNames = [
  'conversations'
]

// Data-plane roles of the app's identity, granted in one loop (app/rbac.bicep); a developer gets the same.
var dataPlaneRoles = [
  {
    name: 'Storage Blob Data Owner'
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  }
  {
    name: 'Storage Queue Data Contributor'
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
  {
    name: 'Storage Table Data Contributor'
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  }
  {
    name: 'Monitoring Metrics Publisher'
    id: '3913510d-42f4-4e42-8a64-420c390055eb'
  }
  {
    name: 'Cognitive Services OpenAI User'
    id: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  }
  {
    name: 'Durable Task Data Contributor'
    id: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
  }
  {
    name: 'Key Vault Secrets User'
    id: '4633458b-17de-408a-b874-0445c86b69e6'
  }
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentStorageContainerName
    queueNames: queueNames
    tableNames: tableNames
    vnetEnabled: vnetEnabled
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    vnetEnabled: vnetEnabled
    webhookSecret: webhookSecret
  }
}

module openAi 'app/openai.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    location: empty(openAiLocation) ? location : openAiLocation
    tags: tags
    deploymentName: deploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    deploymentSku: openAiDeploymentSku
    deploymentCapacity: openAiDeploymentCapacity
    vnetEnabled: vnetEnabled
  }
}

module durableTask 'app/durable-task.bicep' = if (durableBackend == 'durableTaskScheduler') {
  name: 'durable-task'
  scope: rg
  params: {
    schedulerName: '${abbrs.durableTaskSchedulers}${resourceToken}'
    taskHubName: taskHubName
    location: location
    tags: tags
    skuName: durableTaskSchedulerSku
    capacity: durableTaskSchedulerCapacity
  }
}

module emailLogicApp 'app/email-logicapp.bicep' = {
  name: 'email-logicapp'
  scope: rg
  params: {
    name: '${abbrs.logicWorkflows}email-${resourceToken}'
    connectionName: '${abbrs.webConnections}office365-${resourceToken}'
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    vnetName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    natGatewayName: '${abbrs.networkNatGateways}${resourceToken}'
    publicIpName: '${abbrs.networkPublicIPAddresses}${resourceToken}'
    privateEndpointPrefix: '${abbrs.networkPrivateEndpoints}${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
    openAiId: openAi.outputs.id
  }
}

// The settings the code reads (core/settings.py SETTINGS), one entry each. Secrets are Key Vault
// references resolved with the app's identity; nothing secret is written here in clear.
var appSettings = {
  AZURE_OPENAI_ENDPOINT: openAi.outputs.endpoint
  // Empty on purpose: the account has local auth disabled; the app authenticates with AZURE_CLIENT_ID.
  AZURE_OPENAI_API_KEY: ''
  AZURE_OPENAI_DEPLOYMENT: openAi.outputs.deploymentName
  OPENAI_API_VERSION: openAiApiVersion
  AZURE_CLIENT_ID: identity.outputs.clientId
  ASSISTANTS_BACKEND: assistantsBackend
  EMAIL_URI: '@Microsoft.KeyVault(SecretUri=${emailLogicApp.outputs.emailUriVaultUri})'
  EMAIL_ALLOWED_RECIPIENTS: emailAllowedRecipients
  STOCK_QUOTES_URI: stockQuotesUri
  DEFAULT_ASSISTANT: defaultAssistant
  REQUESTS_QUEUE: requestsQueue
  REPLIES_QUEUE: repliesQueue
  WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.webhookVaultUri})'
  RETENTION_DAYS: '30'
  POLL_MIN_SECONDS: '1'
  POLL_MAX_SECONDS: '15'
  TURN_TIMEOUT_SECONDS: '600'
}

// Durable backend settings: host.json names the hub %TASKHUB_NAME% and, for the scheduler, reads the
// connection from DURABLE_TASK_SCHEDULER_CONNECTION_STRING (an endpoint and the identity, no secret).
var schedulerSettings = durableBackend == 'durableTaskScheduler' ? {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTask.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
} : {}
var durableSettings = union({ TASKHUB_NAME: taskHubName }, schedulerSettings)

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentStorageContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: union(appSettings, durableSettings)
    subnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
}

module appRoles 'app/rbac.bicep' = {
  name: 'rbac-app'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    principalType: 'ServicePrincipal'
    roles: dataPlaneRoles
  }
}

module developerRoles 'app/rbac.bicep' = if (!empty(principalId)) {
  name: 'rbac-developer'
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    roles: dataPlaneRoles
  }
}

// Outputs land in the azd environment (.azure/<env>/.env): names and endpoints only, never a secret.
// No AZURE_CLIENT_ID: exported on a developer machine it would point the code at a managed identity.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_DEPLOYMENT string = openAi.outputs.deploymentName
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output EMAIL_LOGIC_APP_NAME string = emailLogicApp.outputs.workflowName
output EMAIL_CONNECTION_NAME string = emailLogicApp.outputs.connectionName
output DURABLE_BACKEND string = durableBackend
output TASKHUB_NAME string = taskHubName
output ASSISTANTS_BACKEND string = assistantsBackend
