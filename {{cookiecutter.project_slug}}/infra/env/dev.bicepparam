// Parameters of the dev environment. The names were derived from resource_prefix by mlops/naming.py when the
// project was generated (the same names as config/environments.toml); change one only together with that file.
{%- set names = cookiecutter.resource_prefix | azure_names("dev") %}
using '../main.bicep'

param location = '{{ cookiecutter.azure_location }}'
param environmentName = 'dev'

param workspaceName = '{{ names.workspace }}'
param storageAccountName = '{{ names.storage_account }}'
param keyVaultName = '{{ names.key_vault }}'
param containerRegistryName = '{{ names.container_registry }}'
param logAnalyticsName = '{{ names.log_analytics }}'
param applicationInsightsName = '{{ names.application_insights }}'
param computeName = '{{ names.compute_cluster }}'

param computeVmSize = 'Standard_DS3_v2'
param computeMaxNodeCount = 2
param computeVmPriority = 'LowPriority'
param computeIdleTimeBeforeScaleDown = 'PT120S'

param publicNetworkAccess = 'Enabled'
param enablePurgeProtection = false

// Object id of the CI service principal (the bootstrap step prints it); empty skips its role assignment.
param ciPrincipalId = readEnvironmentVariable('CI_PRINCIPAL_ID', '')
{%- if cookiecutter.use_registry == "yes" %}

// One registry serves both environments; the prod deployment creates it, dev shares models into it.
param deployMlRegistry = false
param mlRegistryName = '{{ names.ml_registry }}'
{%- endif %}
