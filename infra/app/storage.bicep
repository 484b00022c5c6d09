// The app's storage account: identity-only (shared keys off), TLS 1.2, no public blobs.
// Why each service is on:
//  - blob:  AzureWebJobsStorage (host locks and function keys), the Flex Consumption deployment
//           package container azd uploads to, and the Azure Storage backend's leases and large
//           messages if you switch to it.
//  - queue: the app's ingress and egress (conversation-requests, -replies, -rejected, and the host's
//           -poison queue); also the Durable Functions Azure Storage backend if you switch to it.
//  - table: the app's conversation store (table `conversations`); also the Azure Storage backend's
//           history and instances tables if you switch to it.
//  - file:  off. Flex Consumption does not mount Azure Files, and shared keys (which it needs) are off.
@description('Storage account name (3-24 lowercase letters and digits).')
param name string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

@description('Blob container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Queues the app reads and writes.')
param queueNames array

@description('Tables the app reads and writes.')
param tableNames array

@description('Reach the account only over private endpoints (app/network.bicep).')
param vnetEnabled bool

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_206:LRS is enough here: durable state lives in the Durable Task Scheduler and queue messages are retried end to end; use Standard_ZRS where the region offers it if you need zone resilience.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      //checkov:skip=CKV_AZURE_35:Without the VNet switch the app runs on shared Flex Consumption workers with no fixed outbound address, so the default action must be Allow; access is identity-only (shared keys off).
      bypass: 'AzureServices'
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

@description('Account name (AzureWebJobsStorage__* settings are built from it).')
output name string = account.name

@description('Account resource id, for private endpoints.')
output id string = account.id
