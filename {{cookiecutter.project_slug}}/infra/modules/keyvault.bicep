// The workspace's key vault: Azure RBAC for data-plane access (no access policies), soft delete always on.

@description('Azure region of the resources.')
param location string

@description('Key vault name (derived by mlops/naming.py).')
param keyVaultName string

@description('Purge protection cannot be turned off once on: true in prod, false in dev so a torn-down dev vault can be purged and its name reused.')
param enablePurgeProtection bool

@description('Days a deleted vault stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

@description('Tags applied to every resource.')
param tags object = {}

resource keyVault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  // checkov:skip=CKV_AZURE_109: no private network in this template; data-plane access is Entra-only through Azure RBAC
  // checkov:skip=CKV_AZURE_189: public endpoint kept so CI and the workspace reach the vault without private endpoints; RBAC-only access
  // checkov:skip=CKV_AZURE_110: purge protection is the enablePurgeProtection parameter, true in prod.bicepparam, off in dev so its name can be reused
  // checkov:skip=CKV_AZURE_42: soft delete is always on; purge protection follows enablePurgeProtection (true in prod)
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // ARM rejects enablePurgeProtection: false; leaving it out is how "off" is said.
    enablePurgeProtection: enablePurgeProtection ? true : null
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output keyVaultId string = keyVault.id
