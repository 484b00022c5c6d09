// The one user-assigned identity everything uses: the function app (storage, Durable Task Scheduler,
// OpenAI, Key Vault references, Application Insights) and the deployment container.
@description('Identity name.')
param name string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'user-assigned-identity'
  params: {
    name: name
    location: location
    tags: tags
  }
}

@description('Resource id, for identity blocks and Key Vault references.')
output resourceId string = identity.outputs.resourceId

@description('Client id: AZURE_CLIENT_ID, AzureWebJobsStorage__clientId and the scheduler connection.')
output clientId string = identity.outputs.clientId

@description('Principal (object) id, for role assignments.')
output principalId string = identity.outputs.principalId
