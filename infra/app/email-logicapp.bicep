// The email Logic App (Consumption) behind the send_email tool: an HTTP Request trigger that takes
// {to, content} (the body app/activities POST to EMAIL_URI) and an Office 365 Outlook
// "Send an email (V2)" action through an API connection. The connection needs a person's one-time
// consent after provisioning (infra/hooks/postprovision.* prints how).
// The trigger's callback URL carries a SAS signature (`sig=`): it is written to Key Vault only and
// reaches the app as a Key Vault reference. It is never a deployment output.
@description('Workflow name.')
param name string

@description('Office 365 API connection name.')
param connectionName string

@description('Region.')
param location string

@description('Resource tags.')
param tags object

@description('Vault that receives the callback URL.')
param keyVaultName string

@description('Secret name of the callback URL.')
param secretName string = 'email-uri'

var office365ApiId = subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'office365')

resource office365 'Microsoft.Web/connections@2016-06-01' = {
  name: connectionName
  location: location
  tags: tags
  properties: {
    displayName: 'Office 365 Outlook for Durable Assistants email'
    api: {
      id: office365ApiId
    }
  }
}

resource workflow 'Microsoft.Logic/workflows@2019-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    state: 'Enabled'
    definition: {
      '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
      contentVersion: '1.0.0.0'
      parameters: {
        '$connections': {
          type: 'Object'
          defaultValue: {}
        }
      }
      triggers: {
        manual: {
          type: 'Request'
          kind: 'Http'
          // Reject a body that does not match the schema with 400 instead of sending a broken email.
          operationOptions: 'EnableSchemaValidation'
          inputs: {
            method: 'POST'
            schema: {
              type: 'object'
              required: [
                'to'
                'content'
              ]
              additionalProperties: false
              properties: {
                to: {
                  type: 'string'
                  minLength: 3
                }
                content: {
                  type: 'string'
                }
              }
            }
          }
          // The app sends Idempotency-Key = instance id + tool call id; tracking runs by it makes a
          // retried activity visible in the run history.
          correlation: {
            clientTrackingId: '@{coalesce(triggerOutputs()?[\'headers\']?[\'Idempotency-Key\'], guid())}'
          }
          // Email addresses and bodies are user data: keep them out of the run history.
          runtimeConfiguration: {
            secureData: {
              properties: [
                'inputs'
                'outputs'
              ]
            }
          }
        }
      }
      actions: {
        'Send_an_email_(V2)': {
          type: 'ApiConnection'
          runAfter: {}
          inputs: {
            host: {
              connection: {
                name: '@parameters(\'$connections\')[\'office365\'][\'connectionId\']'
              }
            }
            method: 'post'
            path: '/v2/Mail'
            body: {
              To: '@triggerBody()?[\'to\']'
              Subject: 'A message from your assistant'
              Body: '<p>@{triggerBody()?[\'content\']}</p>'
              Importance: 'Normal'
            }
          }
          runtimeConfiguration: {
            secureData: {
              properties: [
                'inputs'
              ]
            }
          }
        }
        Sent: {
          type: 'Response'
          kind: 'Http'
          runAfter: {
            'Send_an_email_(V2)': [
              'Succeeded'
            ]
          }
          inputs: {
            statusCode: 200
            body: {
              status: 'sent'
            }
          }
        }
        Not_sent: {
          type: 'Response'
          kind: 'Http'
          runAfter: {
            'Send_an_email_(V2)': [
              'Failed'
              'TimedOut'
            ]
          }
          inputs: {
            statusCode: 502
            body: {
              status: 'failed'
            }
          }
        }
      }
      outputs: {}
    }
    parameters: {
      '$connections': {
        value: {
          office365: {
            connectionId: office365.id
            connectionName: office365.name
            id: office365ApiId
          }
        }
      }
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource emailUri 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  //checkov:skip=CKV_AZURE_41:The callback URL is valid until the workflow's access keys are regenerated; re-provisioning rewrites it, an expiry date would only break sending.
  parent: vault
  name: secretName
  properties: {
    value: listCallbackUrl('${workflow.id}/triggers/manual', '2019-05-01').value
    contentType: 'text/uri-list'
  }
}

@description('Workflow name.')
output workflowName string = workflow.name

@description('API connection name (the postprovision hook points at it for consent).')
output connectionName string = office365.name

@description('URI of the callback-URL secret (latest version), for the EMAIL_URI Key Vault reference.')
output emailUriVaultUri string = emailUri.properties.secretUri
