// The Azure ML workspace, linked to its storage account, key vault, container registry and Application Insights.

@description('Azure region of the resources.')
param location string

@description('Azure ML workspace name (derived by mlops/naming.py).')
param workspaceName string

@description('Resource id of the default storage account.')
param storageAccountId string

@description('Resource id of the key vault.')
param keyVaultId string

@description('Resource id of the container registry.')
param containerRegistryId string

@description('Resource id of the Application Insights component.')
param applicationInsightsId string

@description('Whether the workspace endpoints are reachable from the internet ("Disabled" needs private endpoints).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Tags applied to every resource.')
param tags object = {}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2025-06-01' = {
  // checkov:skip=CKV_AZURE_243: private endpoints need a virtual network this template does not create; publicNetworkAccess is a parameter
  name: workspaceName
  location: location
  tags: tags
  kind: 'Default'
  sku: {
    name: 'Basic'
    tier: 'Basic'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    friendlyName: workspaceName
    storageAccount: storageAccountId
    keyVault: keyVaultId
    containerRegistry: containerRegistryId
    applicationInsights: applicationInsightsId
    publicNetworkAccess: publicNetworkAccess
    // The storage account has shared keys disabled: the system datastores use Entra identities instead.
    systemDatastoresAuthMode: 'identity'
    v1LegacyMode: false
  }
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output workspacePrincipalId string = workspace.identity.principalId
