// Least-privilege role assignments, by built-in role name: infra/built-in-roles.json holds their ids (the one table,
// checked against Microsoft's "Azure built-in roles" list by tests/infra/).
//
// Only what Azure ML does not assign by itself. The workspace's system-assigned identity gets its roles from Azure ML
// when the workspace is created ("managed by Microsoft": Contributor, or Azure AI Administrator since November 2024,
// on the resource group, and with systemDatastoresAuthMode 'identity' the permissions it needs on its storage
// account), so assigning them here again would fail the deployment with RoleAssignmentExists
// (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication,
// https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage).
// 2022-04-01 is the newest GA API version of Microsoft.Authorization/roleAssignments (no 2024+ GA version exists).

var builtInRoles = loadJsonContent('../built-in-roles.json').roles

@description('Name of the Azure ML workspace.')
param workspaceName string

@description('Name of the default storage account.')
param storageAccountName string

@description('Name of the container registry.')
param containerRegistryName string

@description('Principal id of the compute cluster\'s managed identity.')
param computePrincipalId string

@description('Object id of the CI service principal; empty to skip its assignment.')
param ciPrincipalId string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2025-06-01' existing = {
  name: workspaceName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource containerRegistry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: containerRegistryName
}

// CI uploads code snapshots and training data to the default datastore; with shared keys off, that takes a data role.
resource ciBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(ciPrincipalId)) {
  name: guid(storageAccount.id, ciPrincipalId, builtInRoles['Storage Blob Data Contributor'])
  scope: storageAccount
  properties: {
    principalId: ciPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles['Storage Blob Data Contributor'])
  }
}

// CI submits jobs, registers assets, deploys online endpoints and calls them (onlineEndpoints/score/action) in the
// workspace: the data-plane role for all that (Contributor, from the bootstrap, only lets it deploy infra/ into its
// resource group; it grants no data access). The endpoints' own system identities get AcrPull and blob read access
// from Azure ML itself.
resource ciDataScientist 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(ciPrincipalId)) {
  name: guid(workspace.id, ciPrincipalId, builtInRoles['AzureML Data Scientist'])
  scope: workspace
  properties: {
    principalId: ciPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles['AzureML Data Scientist'])
  }
}

// The compute reads training data and writes outputs with its own identity (no account keys); Microsoft documents at
// least Storage Blob Data Reader for identity-based datastores, and the steps write their outputs.
resource computeBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, computePrincipalId, builtInRoles['Storage Blob Data Contributor'])
  scope: storageAccount
  properties: {
    principalId: computePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles['Storage Blob Data Contributor'])
  }
}

// The compute pulls the environment images Azure ML built. Its identity is user-assigned (compute.bicep), which Azure
// ML grants nothing by itself: AcrPull is assigned here.
resource computeAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(containerRegistry.id, computePrincipalId, builtInRoles.AcrPull)
  scope: containerRegistry
  properties: {
    principalId: computePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.AcrPull)
  }
}
