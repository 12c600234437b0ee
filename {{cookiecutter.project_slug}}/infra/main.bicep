// One environment (dev or prod) of the project's Azure resources, deployed into an existing resource group:
//   make infra-what-if ENV=dev    then    make infra-deploy ENV=dev
// Every name arrives as a parameter from infra/env/<env>.bicepparam, which the template filled from
// mlops/naming.py: names are derived once, never here.
targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string

@description('Environment name, used in tags.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Azure ML workspace name.')
param workspaceName string

@description('Storage account name.')
param storageAccountName string

@description('Key vault name.')
param keyVaultName string

@description('Container registry name.')
param containerRegistryName string

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Compute cluster name.')
param computeName string

@description('VM size of the compute cluster nodes.')
param computeVmSize string

@description('Most nodes the compute cluster scales out to.')
@minValue(1)
param computeMaxNodeCount int

@description('LowPriority (preemptible, cheap) in dev, Dedicated in prod.')
@allowed([
  'LowPriority'
  'Dedicated'
])
param computeVmPriority string

@description('Idle time before the cluster releases a node (ISO 8601, at most PT120S to keep idle cost low).')
param computeIdleTimeBeforeScaleDown string = 'PT120S'

@description('Whether the workspace (and registry) endpoints are reachable from the internet.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Key vault purge protection: true in prod (it cannot be turned off again).')
param enablePurgeProtection bool

@description('Storage replication.')
param storageSkuName string = 'Standard_LRS'

@description('Object id of the CI service principal, granted "AzureML Data Scientist" on the workspace; empty to skip.')
param ciPrincipalId string

@description('Deploy the Azure ML registry shared by dev and prod (the prod deployment owns it).')
param deployMlRegistry bool = false

@description('Azure ML registry name; used when deployMlRegistry is true.')
param mlRegistryName string = ''

var tags = {
  project: workspaceName
  environment: environmentName
  managedBy: 'bicep'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    storageAccountName: storageAccountName
    skuName: storageSkuName
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    keyVaultName: keyVaultName
    enablePurgeProtection: enablePurgeProtection
    tags: tags
  }
}

module containerRegistry 'modules/containerregistry.bicep' = {
  name: 'containerregistry'
  params: {
    location: location
    containerRegistryName: containerRegistryName
    tags: tags
  }
}

module workspace 'modules/workspace.bicep' = {
  name: 'workspace'
  params: {
    location: location
    workspaceName: workspaceName
    storageAccountId: storage.outputs.storageAccountId
    keyVaultId: keyVault.outputs.keyVaultId
    containerRegistryId: containerRegistry.outputs.containerRegistryId
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    publicNetworkAccess: publicNetworkAccess
    tags: tags
  }
}

module compute 'modules/compute.bicep' = {
  name: 'compute'
  params: {
    location: location
    workspaceName: workspace.outputs.workspaceName
    computeName: computeName
    vmSize: computeVmSize
    maxNodeCount: computeMaxNodeCount
    vmPriority: computeVmPriority
    idleTimeBeforeScaleDown: computeIdleTimeBeforeScaleDown
    tags: tags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    workspaceName: workspace.outputs.workspaceName
    storageAccountName: storage.outputs.storageAccountName
    containerRegistryName: containerRegistry.outputs.containerRegistryName
    computePrincipalId: compute.outputs.computePrincipalId
    ciPrincipalId: ciPrincipalId
  }
}

module mlRegistry 'modules/registry.bicep' = if (deployMlRegistry) {
  name: 'mlregistry'
  params: {
    location: location
    mlRegistryName: mlRegistryName
    publicNetworkAccess: publicNetworkAccess
    tags: tags
    ciPrincipalId: ciPrincipalId
  }
}

// What config/environments.toml records for this environment.
output workspaceName string = workspace.outputs.workspaceName
output workspaceId string = workspace.outputs.workspaceId
output computeName string = compute.outputs.computeName
output computeId string = compute.outputs.computeId
output storageAccountId string = storage.outputs.storageAccountId
output keyVaultId string = keyVault.outputs.keyVaultId
output containerRegistryId string = containerRegistry.outputs.containerRegistryId
output applicationInsightsId string = monitoring.outputs.applicationInsightsId
output logAnalyticsId string = monitoring.outputs.logAnalyticsId
output mlRegistryName string = deployMlRegistry ? mlRegistryName : ''
