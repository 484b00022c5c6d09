// Data-plane roles for one principal, in one loop. Scope is the resource group: it holds only this
// app's resources, so the reach is the same as per-resource scopes and the list stays one table.
@description('Object id of the principal that gets the roles.')
param principalId string

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal.')
param principalType string

@description('Roles to grant: [{name, id}] with built-in role definition ids.')
param roles array

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: {
    name: guid(resourceGroup().id, principalId, role.id)
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.id)
      description: '${role.name} for Durable Assistants'
    }
  }
]
