// The workspace's container registry, where Azure ML builds and keeps the training environment images.

@description('Azure region of the resources.')
param location string

@description('Container registry name (derived by mlops/naming.py).')
param containerRegistryName string

@description('Basic is enough for one project\'s environment images; Premium adds private endpoints and geo-replication.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param skuName string = 'Basic'

@description('Tags applied to every resource.')
param tags object = {}

resource containerRegistry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  // checkov:skip=CKV_AZURE_139: disabling public access needs the Premium SKU and private endpoints; Basic keeps cost low, admin user off
  // checkov:skip=CKV_AZURE_163: image scanning is Microsoft Defender for Containers, enabled per subscription, not per registry
  // checkov:skip=CKV_AZURE_166: quarantine is a Premium-only feature; only Azure ML builds images here
  name: containerRegistryName
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    adminUserEnabled: false
  }
}

output containerRegistryId string = containerRegistry.id
output containerRegistryName string = containerRegistry.name
