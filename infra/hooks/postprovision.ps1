# azd postprovision hook (Windows): prints the steps that need a person. Prints names and commands,
# never a key or a callback URL. azd exports the Bicep outputs (AZURE_RESOURCE_GROUP, ...) to this script.
$ErrorActionPreference = 'Stop'

function Require([string] $name) {
    $value = [Environment]::GetEnvironmentVariable($name)
    if ([string]::IsNullOrEmpty($value)) { throw "run through azd: $name is not set" }
    return $value
}

$rg = Require 'AZURE_RESOURCE_GROUP'
$app = Require 'AZURE_FUNCTION_APP_NAME'
$connection = Require 'EMAIL_CONNECTION_NAME'
$subscription = if ($env:AZURE_SUBSCRIPTION_ID) { $env:AZURE_SUBSCRIPTION_ID } else { '<subscription-id>' }
$tenant = if ($env:AZURE_TENANT_ID) { $env:AZURE_TENANT_ID } else { '' }
$api = if ($env:SERVICE_API_URI) { $env:SERVICE_API_URI } else { "https://$app.azurewebsites.net" }
$connectionId = "/subscriptions/$subscription/resourceGroups/$rg/providers/Microsoft.Web/connections/$connection"

$status = 'unknown (install the Azure CLI to check)'
if (Get-Command az -ErrorAction SilentlyContinue) {
    $status = az resource show --ids $connectionId --query 'properties.statuses[0].status' -o tsv 2>$null
    if (-not $status) { $status = 'unknown' }
}

Write-Host @"

== Durable Assistants: two steps need a person ==

1. Authorise the Office 365 connection of the email Logic App (status now: $status).
   The send_email tool fails until a mailbox owner consents once:
     https://portal.azure.com/#@$tenant/resource$connectionId/edit
   Portal: resource group $rg > API connection $connection > Edit API connection > Authorize >
   sign in with the mailbox that sends the mail > Save. Status then reads "Connected".

2. Call the API with a function key (after 'azd deploy' or 'azd up' has deployed the code):
     `$key = az functionapp keys list -g $rg -n $app --query functionKeys.default -o tsv
     Invoke-RestMethod "$api/api/health"
     Invoke-RestMethod -Method Post "$api/api/conversations" ``
       -Headers @{ 'x-functions-key' = `$key } -ContentType 'application/json' ``
       -Body '{"message": "What is 2 + 2?", "assistant": "math-tutor", "wait": 30}'
   A 202 answer carries Location (a turn URL) and Retry-After: GET it with the same header until 200.
   Email recipients are limited by EMAIL_ALLOWED_RECIPIENTS (azd env set EMAIL_ALLOWED_RECIPIENTS ...).

"@
