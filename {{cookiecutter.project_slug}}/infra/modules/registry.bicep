// The Azure ML registry through which a model validated in dev reaches prod without retraining.
// Deployed only when deployMlRegistry is true (the prod parameters, when the project was generated with a registry).

@description('Azure region of the registry\'s primary replica.')
param location string

@description('Azure ML registry name (derived by mlops/naming.py).')
param mlRegistryName string

@description('Whether the registry is reachable from the internet.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Tags applied to every resource.')
param tags object = {}

@description('Object id of the CI service principal, which shares validated models into the registry; empty to skip.')
param ciPrincipalId string = ''

// AzureML Registry User: use and add registry assets, nothing more (ids: infra/built-in-roles.json).
var registryUserRole = loadJsonContent('../built-in-roles.json').roles['AzureML Registry User']

resource mlRegistry 'Microsoft.MachineLearningServices/registries@2025-06-01' = {
  name: mlRegistryName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publicNetworkAccess: publicNetworkAccess
    regionDetails: [
      {
        location: location
        storageAccountDetails: [
          {
            systemCreatedStorageAccount: {
              storageAccountType: 'Standard_LRS'
              storageAccountHnsEnabled: false
              allowBlobPublicAccess: false
            }
          }
        ]
        acrDetails: [
          {
            systemCreatedAcrAccount: {
              acrAccountSku: 'Premium'
            }
          }
        ]
      }
    ]
  }
}

resource ciRegistryUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(ciPrincipalId)) {
  name: guid(mlRegistry.id, ciPrincipalId, registryUserRole)
  scope: mlRegistry
  properties: {
    principalId: ciPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', registryUserRole)
  }
}

output mlRegistryId string = mlRegistry.id
output mlRegistryName string = mlRegistry.name
