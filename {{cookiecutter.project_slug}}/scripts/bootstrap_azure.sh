#!/usr/bin/env bash
# One-time Azure setup for CI/CD, run by a person with rights to create resource groups and role assignments:
#   - the dev and prod resource groups (names from config/environments.toml),
#   - three user-assigned managed identities for CI, trusted through federated credentials (OIDC, no secret anywhere),
#     each with the least it needs, on its own resource group only:
#       ci-dev   deploys and trains in dev    Contributor + Role Based Access Control Administrator on the dev group,
#                                             the latter limited to the roles infra/ grants
#       ci-prod  deploys and trains in prod   the same on the prod group (+ Reader on the dev group when models go
#                                             through an Azure ML registry: promote reads the dev model)
#       ci-pr    previews pull requests       a custom role on the dev group: read everything, preview deployments
#     so a job in the dev environment can never change prod, and pull-request code can change nothing;
#     infra/ then grants each CI identity its data-plane roles in its own environment,
#   - the CI variables: GitHub repository and environment variables (gh), or what to enter in Azure DevOps.
#
# Usage:
#   scripts/bootstrap_azure.sh --github owner/repo [--dry-run]
#   scripts/bootstrap_azure.sh --azure-devops [--ado-issuer URL --ado-subject SUBJECT] [--dry-run]
# --dry-run prints every command instead of running it (no login needed). Every step is idempotent: run it again
# after a failure (a new custom role can take a minute to become assignable).
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^# --dry-run/p' "$0" >&2
  exit 2
}

DRY_RUN=0
GITHUB_REPO=""
AZURE_DEVOPS=0
ADO_ISSUER=""
ADO_SUBJECT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --github) GITHUB_REPO="${2:?--github needs owner/repo}"; shift ;;
    --azure-devops) AZURE_DEVOPS=1 ;;
    --ado-issuer) ADO_ISSUER="${2:?--ado-issuer needs a URL}"; shift ;;
    --ado-subject) ADO_SUBJECT="${2:?--ado-subject needs a subject}"; shift ;;
    -h|--help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
  shift
done
if [ -z "$GITHUB_REPO" ] && [ "$AZURE_DEVOPS" -eq 0 ]; then
  echo "choose the CI platform: --github owner/repo or --azure-devops" >&2
  usage
fi
case "$GITHUB_REPO" in
  ""|*/*) ;;
  *) echo "--github expects owner/repo, not '$GITHUB_REPO'" >&2; exit 2 ;;
esac
# An Azure DevOps subject ends with its service connection's name, which says which identity it may use.
ADO_IDENTITY=""
if [ -n "$ADO_SUBJECT" ]; then
  case "${ADO_SUBJECT##*/}" in
    mlops-dev) ADO_IDENTITY="dev" ;;
    mlops-prod) ADO_IDENTITY="prod" ;;
    mlops-pr) ADO_IDENTITY="pr" ;;
    *) echo "--ado-subject must end with mlops-dev, mlops-prod or mlops-pr, not '${ADO_SUBJECT##*/}'" >&2; exit 2 ;;
  esac
fi

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# Names are read from the configuration that the mlops package and infra/ use: written once, derived at generation.
setting() {
  "$PYTHON" -c 'import sys, tomllib; c = tomllib.load(open("config/environments.toml", "rb")); print((c[sys.argv[1]] if sys.argv[1] else c).get(sys.argv[2], ""))' "$1" "$2"
}
PREFIX="$(setting "" resource_prefix)"
LOCATION="$(setting dev location)"
RG_DEV="$(setting dev resource_group)"
RG_PROD="$(setting prod resource_group)"
REGISTRY="$(setting prod ml_registry)"
CONTRIBUTOR="b24988ac-6180-42dd-a0ba-2b8f6a5f1d3c"
RBAC_ADMIN="f58310d9-a9f6-439a-9e8d-f62e7b41a168"
READER="acdd72a7-3385-48ef-bd42-f606fba81ae7"
WHAT_IF_ROLE="${RG_DEV} what-if reader"  # custom role names are unique per tenant

run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# A value that only exists after a command has run: a placeholder in a dry run.
query() {
  local placeholder="$1"
  shift
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '<%s>' "$placeholder"
  else
    "$@"
  fi
}

SUBSCRIPTION_ID="$(query subscription-id az account show --query id --output tsv)"
TENANT_ID="$(query tenant-id az account show --query tenantId --output tsv)"
scope() { printf '/subscriptions/%s/resourceGroups/%s' "$SUBSCRIPTION_ID" "$1"; }

for rg in "$RG_DEV" "$RG_PROD"; do
  run az group create --name "$rg" --location "$LOCATION" --output none
done

# The identity of ROLE (dev, prod, pr): its name, its resource group, and once created its client and principal ids.
identity_name() { printf 'id-%s-ci-%s' "$PREFIX" "$1"; }
identity_group() { if [ "$1" = prod ]; then printf '%s' "$RG_PROD"; else printf '%s' "$RG_DEV"; fi; }
identity_id() {  # identity_id ROLE clientId|principalId: looked up once, when the identity is created below
  local stored="IDENTITY_${1}_${2}"
  printf '%s' "${!stored}"
}

grant() {  # grant ROLE AZURE_ROLE RESOURCE_GROUP [extra az arguments]
  local who="$1" role="$2" group="$3"
  shift 3
  run az role assignment create --assignee-object-id "$(identity_id "$who" principalId)" \
    --assignee-principal-type ServicePrincipal --role "$role" --scope "$(scope "$group")" "$@" --output none
}

# The deploying identities may create and delete role assignments of the roles infra/ grants, and no others (so they
# cannot make themselves Owner): the role definition ids are read from the Bicep modules, where they are written once.
GRANTED_ROLES="$(grep -ohE "'[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}'" infra/modules/*.bicep | tr -d "'" | sort -u \
  | paste -sd, - | sed 's/,/, /g')"
ONLY_GRANTED_ROLES="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR \
(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${GRANTED_ROLES}})) \
AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR \
(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${GRANTED_ROLES}}))"

federate() {  # federate ROLE CREDENTIAL_NAME ISSUER SUBJECT
  run az identity federated-credential create --identity-name "$(identity_name "$1")" \
    --resource-group "$(identity_group "$1")" --name "$2" --issuer "$3" --subject "$4" \
    --audiences api://AzureADTokenExchange --output none
}

for role in dev prod pr; do
  run az identity create --name "$(identity_name "$role")" --resource-group "$(identity_group "$role")" \
    --location "$LOCATION" --output none
  for id in clientId principalId; do
    printf -v "IDENTITY_${role}_${id}" '%s' "$(query "$role-$id" az identity show --name "$(identity_name "$role")" \
      --resource-group "$(identity_group "$role")" --query "$id" --output tsv)"
  done
done

for env in dev prod; do
  group="$RG_DEV"
  if [ "$env" = prod ]; then group="$RG_PROD"; fi
  grant "$env" "$CONTRIBUTOR" "$group"
  grant "$env" "$RBAC_ADMIN" "$group" --condition "$ONLY_GRANTED_ROLES" --condition-version 2.0
done
if [ -n "$REGISTRY" ]; then
  grant prod "$READER" "$RG_DEV"
fi

# Reader's `*/read` plus the two deployment actions of what-if. `mlops infra what-if` asks for validation level
# ProviderNoRbac, which checks read rights instead of write rights. Assignable on the dev group only.
WHAT_IF_DEFINITION="$(printf '{"Name": "%s", "IsCustom": true, "Description": "%s", "Actions": ["*/read", "%s", "%s"], "NotActions": [], "AssignableScopes": ["%s"]}' \
  "$WHAT_IF_ROLE" "Read resources and preview deployments (what-if); change nothing." \
  "Microsoft.Resources/deployments/whatIf/action" "Microsoft.Resources/deployments/validate/action" "$(scope "$RG_DEV")")"
if [ "$DRY_RUN" -eq 1 ] || [ -z "$(az role definition list --name "$WHAT_IF_ROLE" --scope "$(scope "$RG_DEV")" \
  --query "[0].name" --output tsv)" ]; then
  run az role definition create --role-definition "$WHAT_IF_DEFINITION" --output none
fi
grant pr "$WHAT_IF_ROLE" "$RG_DEV"

if [ -n "$GITHUB_REPO" ]; then
  issuer="https://token.actions.githubusercontent.com"
  federate dev github-dev "$issuer" "repo:${GITHUB_REPO}:environment:dev"
  federate prod github-prod "$issuer" "repo:${GITHUB_REPO}:environment:prod"
  federate pr github-pull-request "$issuer" "repo:${GITHUB_REPO}:pull_request"
  # Repository variables: every job sees them, pull requests from branches included (forks get none).
  run gh variable set AZURE_TENANT_ID --repo "$GITHUB_REPO" --body "$TENANT_ID"
  run gh variable set AZURE_SUBSCRIPTION_ID --repo "$GITHUB_REPO" --body "$SUBSCRIPTION_ID"
  run gh variable set AZURE_PR_CLIENT_ID --repo "$GITHUB_REPO" --body "$(identity_id pr clientId)"
  run gh variable set AZURE_DEV_PRINCIPAL_ID --repo "$GITHUB_REPO" --body "$(identity_id dev principalId)"
  # Environment variables: only the jobs bound to that environment see them.
  for env in dev prod; do
    run gh api --method PUT "repos/${GITHUB_REPO}/environments/${env}" --silent
    run gh variable set AZURE_CLIENT_ID --env "$env" --repo "$GITHUB_REPO" --body "$(identity_id "$env" clientId)"
    run gh variable set CI_PRINCIPAL_ID --env "$env" --repo "$GITHUB_REPO" --body "$(identity_id "$env" principalId)"
  done
  echo "Next: in GitHub, Settings > Environments > prod, add required reviewers (the prod job waits for them);" \
    "for dev and prod, allow deployments from the main branch only (Deployment branches and tags)."
fi

if [ "$AZURE_DEVOPS" -eq 1 ]; then
  if [ -n "$ADO_ISSUER" ] && [ -n "$ADO_IDENTITY" ]; then
    federate "$ADO_IDENTITY" "ado-${ADO_SUBJECT##*/}" "$ADO_ISSUER" "$ADO_SUBJECT"
  fi
  cat <<EOF
Next, in Azure DevOps (Project settings > Service connections > Azure Resource Manager > Workload identity
federation (manual)), create three service connections with subscription id ${SUBSCRIPTION_ID} and tenant id
${TENANT_ID}:
  mlops-dev   client id $(identity_id dev clientId)
  mlops-prod  client id $(identity_id prod clientId)
  mlops-pr    client id $(identity_id pr clientId)   (read-only: what-if and validation on pull requests)
then run this script again with --ado-issuer and --ado-subject as each service connection shows them.
Variable groups (Pipelines > Library), plain variables: mlops-dev with AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID and
CI_PRINCIPAL_ID=$(identity_id dev principalId); mlops-prod with AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID and
CI_PRINCIPAL_ID=$(identity_id prod principalId).
Pipelines > Environments: add an exclusive lock to dev and prod, and an approval check to prod.
Pipelines: create one from each of .azuredevops/pr.yml, pr-azure.yml (the read-only preview against dev) and
cd.yml; add the two pr pipelines as build validations on main (Project settings > Repositories > Policies).
EOF
fi
