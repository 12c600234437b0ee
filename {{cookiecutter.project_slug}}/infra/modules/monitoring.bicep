// Log Analytics workspace and a workspace-based Application Insights component for the Azure ML workspace.

@description('Azure region of the resources.')
param location string

@description('Log Analytics workspace name (derived by mlops/naming.py).')
param logAnalyticsName string

@description('Application Insights component name (derived by mlops/naming.py).')
param applicationInsightsName string

@description('Days Log Analytics keeps data; 30 is the free retention.')
param retentionInDays int = 30

@description('Tags applied to every resource.')
param tags object = {}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

// 2020-02-02 is the newest API version Microsoft.Insights/components has (no 2024+ version exists).
resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
  }
}

output logAnalyticsId string = logAnalytics.id
output applicationInsightsId string = applicationInsights.id
