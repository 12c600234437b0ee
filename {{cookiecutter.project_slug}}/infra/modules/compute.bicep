// The training cluster: scales to zero when idle, runs as a user-assigned managed identity.
// The identity is created first, so its data-plane roles (modules/roles.bicep) exist before any job starts.

@description('Azure region of the resources.')
param location string

@description('Name of the Azure ML workspace that owns the cluster.')
param workspaceName string

@description('Compute cluster name (derived by mlops/naming.py).')
param computeName string

@description('VM size of the cluster nodes.')
param vmSize string

@description('Most nodes the cluster scales out to.')
@minValue(1)
param maxNodeCount int

@description('LowPriority nodes cost far less but can be preempted: dev uses them, prod uses Dedicated.')
@allowed([
  'LowPriority'
  'Dedicated'
])
param vmPriority string

@description('Idle time before a node is released (ISO 8601); short, because an idle node is billed.')
param idleTimeBeforeScaleDown string = 'PT120S'

@description('Tags applied to every resource.')
param tags object = {}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2025-06-01' existing = {
  name: workspaceName
}

resource computeIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${workspaceName}-${computeName}'
  location: location
  tags: tags
}

resource compute 'Microsoft.MachineLearningServices/workspaces/computes@2025-06-01' = {
  parent: workspace
  name: computeName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${computeIdentity.id}': {}
    }
  }
  properties: {
    computeType: 'AmlCompute'
    disableLocalAuth: true
    properties: {
      vmSize: vmSize
      vmPriority: vmPriority
      osType: 'Linux'
      remoteLoginPortPublicAccess: 'Disabled'
      enableNodePublicIp: true
      scaleSettings: {
        minNodeCount: 0
        maxNodeCount: maxNodeCount
        nodeIdleTimeBeforeScaleDown: idleTimeBeforeScaleDown
      }
    }
  }
}

output computeId string = compute.id
output computeName string = compute.name
output computePrincipalId string = computeIdentity.properties.principalId
output computeIdentityId string = computeIdentity.id
