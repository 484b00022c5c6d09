// Key Vault for the app's two secrets: the email Logic App's callback URL (written by
// app/email-logicapp.bicep) and the webhook signing key. RBAC only, soft delete + purge protection.
// The app reads both through Key Vault references with its identity (Key Vault Secrets User).
@description('Vault name (3-24 characters).')
param name string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

@description('Reach the vault only over a private endpoint (app/network.bicep).')
param vnetEnabled bool

@secure()
@description('HMAC key signing callback_url POSTs (WEBHOOK_SECRET).')
param webhookSecret string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_189:Public network access stays on without the VNet switch so the function app on shared Flex Consumption workers can resolve Key Vault references; access is RBAC-only.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    // The minimum: a vault deleted by `azd down --purge` blocks its name for this many days.
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      //checkov:skip=CKV_AZURE_109:Without the VNet switch the app has no fixed outbound address to allow, so the default action must be Allow; access is RBAC-only.
      bypass: 'AzureServices'
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

resource webhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  //checkov:skip=CKV_AZURE_41:The signing key is shared with webhook receivers; it is rotated deliberately (azd env + provision), not by an expiry date.
  parent: vault
  name: 'webhook-secret'
  properties: {
    value: webhookSecret
    contentType: 'text/plain'
  }
}

@description('Vault name (the email Logic App module writes its callback URL here).')
output name string = vault.name

@description('Vault resource id, for the private endpoint.')
output id string = vault.id

@description('URI of the webhook secret (latest version), for the WEBHOOK_SECRET Key Vault reference.')
output webhookVaultUri string = webhookSecretValue.properties.secretUri
