// Least-privilege role assignments. Built-in role definition ids (the same GUID in every tenant), from
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles :
//   AzureML Data Scientist                      f6c7c914-8db3-469d-8ca1-694a8f32e121
//   Storage Blob Data Contributor               ba92f5b4-2d11-453d-a403-e96b0029c9fe
//   Storage File Data Privileged Contributor    69566ab7-960f-475b-8e7c-b3118f30c6bd
//   AcrPull                                     7f951dda-4ed3-4680-a7ca-43fe172d538d
// 2022-04-01 is the newest GA API version of Microsoft.Authorization/roleAssignments (no 2024+ GA version exists).

@description('Name of the Azure ML workspace.')
param workspaceName string

@description('Name of the default storage account.')
param storageAccountName string

@description('Name of the container registry.')
param containerRegistryName string

@description('Principal id of the workspace\'s system-assigned identity.')
param workspacePrincipalId string

@description('Principal id of the compute cluster\'s managed identity.')
param computePrincipalId string

@description('Object id of the CI service principal; empty to skip its assignment.')
param ciPrincipalId string

var roles = {
  azureMlDataScientist: 'f6c7c914-8db3-469d-8ca1-694a8f32e121'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageFileDataPrivilegedContributor: '69566ab7-960f-475b-8e7c-b3118f30c6bd'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}

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
  name: guid(storageAccount.id, ciPrincipalId, roles.storageBlobDataContributor)
  scope: storageAccount
  properties: {
    principalId: ciPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// CI submits jobs and registers assets; it needs neither Owner nor Contributor.
resource ciDataScientist 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(ciPrincipalId)) {
  name: guid(workspace.id, ciPrincipalId, roles.azureMlDataScientist)
  scope: workspace
  properties: {
    principalId: ciPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.azureMlDataScientist)
  }
}

// The compute reads training data and writes outputs with its own identity (no account keys).
resource computeBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, computePrincipalId, roles.storageBlobDataContributor)
  scope: storageAccount
  properties: {
    principalId: computePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// The compute pulls the environment images Azure ML built.
resource computeAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(containerRegistry.id, computePrincipalId, roles.acrPull)
  scope: containerRegistry
  properties: {
    principalId: computePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

// Identity-based system datastores: the workspace itself reads and writes blobs and file shares without keys.
resource workspaceBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, workspacePrincipalId, roles.storageBlobDataContributor)
  scope: storageAccount
  properties: {
    principalId: workspacePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource workspaceFileData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, workspacePrincipalId, roles.storageFileDataPrivilegedContributor)
  scope: storageAccount
  properties: {
    principalId: workspacePrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageFileDataPrivilegedContributor)
  }
}
