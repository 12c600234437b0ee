// The workspace's default storage account.
//
// Shared keys are disabled (allowSharedKeyAccess: false): the workspace is created with
// systemDatastoresAuthMode 'identity' (modules/workspace.bicep), so Azure ML reaches its system datastores
// with Microsoft Entra identities instead of account keys, and no key can leak from a datastore or a notebook.
// The identities that read or write data (the workspace, the compute cluster) get data-plane roles in
// modules/roles.bicep.

@description('Azure region of the resources.')
param location string

@description('Storage account name (derived by mlops/naming.py).')
param storageAccountName string

@description('Replication: Standard_LRS keeps dev cheap; prod may choose Standard_ZRS or Standard_GRS.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_LRS'

@description('Tags applied to every resource.')
param tags object = {}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  // checkov:skip=CKV_AZURE_35: compute clusters without a virtual network reach storage over its public endpoint; shared keys are off
  // checkov:skip=CKV_AZURE_206: replication is the skuName parameter; LRS by default to keep dev cheap, prod may pick ZRS/GRS
  // checkov:skip=CKV_AZURE_43: the name is a parameter derived and validated by mlops/naming.py, which checkov cannot evaluate
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
      }
    }
  }
}

output storageAccountId string = storageAccount.id
output storageAccountName string = storageAccount.name
