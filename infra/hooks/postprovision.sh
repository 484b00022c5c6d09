#!/bin/sh
# azd postprovision hook: prints the steps that need a person. Prints names and commands, never a
# key or a callback URL. azd exports the Bicep outputs (AZURE_RESOURCE_GROUP, ...) to this script.
set -eu

rg="${AZURE_RESOURCE_GROUP:?run through azd: AZURE_RESOURCE_GROUP is not set}"
app="${AZURE_FUNCTION_APP_NAME:?run through azd: AZURE_FUNCTION_APP_NAME is not set}"
connection="${EMAIL_CONNECTION_NAME:?run through azd: EMAIL_CONNECTION_NAME is not set}"
subscription="${AZURE_SUBSCRIPTION_ID:-<subscription-id>}"
tenant="${AZURE_TENANT_ID:-}"
api="${SERVICE_API_URI:-https://$app.azurewebsites.net}"
connection_id="/subscriptions/$subscription/resourceGroups/$rg/providers/Microsoft.Web/connections/$connection"

status="unknown (install the Azure CLI to check)"
if command -v az >/dev/null 2>&1; then
  status="$(az resource show --ids "$connection_id" --query "properties.statuses[0].status" -o tsv 2>/dev/null || echo unknown)"
fi

cat <<TEXT

== Durable Assistants: two steps need a person ==

1. Authorise the Office 365 connection of the email Logic App (status now: $status).
   The send_email tool fails until a mailbox owner consents once:
     https://portal.azure.com/#@$tenant/resource$connection_id/edit
   Portal: resource group $rg > API connection $connection > Edit API connection > Authorize >
   sign in with the mailbox that sends the mail > Save. Status then reads "Connected".

2. Call the API with a function key (after 'azd deploy' or 'azd up' has deployed the code):
     key="\$(az functionapp keys list -g $rg -n $app --query functionKeys.default -o tsv)"
     curl -sS "$api/api/health"
     curl -sS -X POST "$api/api/conversations" \\
       -H "x-functions-key: \$key" -H "content-type: application/json" \\
       -d '{"message": "What is 2 + 2?", "assistant": "math-tutor", "wait": 30}'
   A 202 answer carries Location (a turn URL) and Retry-After: GET it with the same header until 200.
   Email recipients are limited by EMAIL_ALLOWED_RECIPIENTS (azd env set EMAIL_ALLOWED_RECIPIENTS ...).

TEXT
