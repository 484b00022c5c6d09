// Durable Task Scheduler: the managed Durable Functions backend (host.json storageProvider
// `azureManaged`). The app reaches it with its identity (Durable Task Data Contributor).
@description('Scheduler name.')
param schedulerName string

@description('Task hub name (TASKHUB_NAME).')
param taskHubName string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

@allowed([
  'Consumption'
  'Dedicated'
])
@description('Consumption bills per orchestration action and nothing while idle; Dedicated bills per capacity unit around the clock.')
param skuName string

@description('Capacity units (Dedicated only).')
param capacity int

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: schedulerName
  location: location
  tags: tags
  properties: {
    // An empty list denies every caller. Flex Consumption workers have no fixed outbound address,
    // so the allowlist is open and access is Entra ID + RBAC only.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    // Capacity applies to Dedicated only; Consumption takes none.
    sku: union({ name: skuName }, skuName == 'Dedicated' ? { capacity: capacity } : {})
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

@description('Scheduler endpoint, for DURABLE_TASK_SCHEDULER_CONNECTION_STRING.')
output endpoint string = scheduler.properties.endpoint

@description('Task hub name.')
output taskHubName string = taskHub.name
