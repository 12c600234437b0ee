#!/usr/bin/env bash
# One-time Azure setup for CI/CD, run by a person with rights to create resource groups and role assignments:
#   - the dev and prod resource groups (names from config/environments.toml),
#   - one user-assigned managed identity for CI, trusted through federated credentials (OIDC): no secret anywhere,
#   - its role assignments, scoped to the two resource groups only (Contributor to deploy infra/, and Role Based Access
#     Control Administrator so the Bicep can grant the workspace-level roles; infra/ grants the data-plane roles),
#   - the CI variables: GitHub environment variables (gh), or what to enter in an Azure DevOps service connection.
#
# Usage:
#   scripts/bootstrap_azure.sh --github owner/repo [--dry-run]
#   scripts/bootstrap_azure.sh --azure-devops [--ado-issuer URL --ado-subject SUBJECT] [--dry-run]
# --dry-run prints every command instead of running it (no login needed).
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

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# Names are read from the configuration that the mlops package and infra/ use: written once, derived at generation.
setting() {
  "$PYTHON" -c 'import sys, tomllib; c = tomllib.load(open("config/environments.toml", "rb")); print(c[sys.argv[1]][sys.argv[2]] if sys.argv[1] else c[sys.argv[2]])' "$1" "$2"
}
PREFIX="$(setting "" resource_prefix)"
LOCATION="$(setting dev location)"
RG_DEV="$(setting dev resource_group)"
RG_PROD="$(setting prod resource_group)"
IDENTITY="id-${PREFIX}-ci"
CONTRIBUTOR="b24988ac-6180-42dd-a0ba-2b8f6a5f1d3c"
RBAC_ADMIN="f58310d9-a9f6-439a-9e8d-f62e7b41a168"

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

for rg in "$RG_DEV" "$RG_PROD"; do
  run az group create --name "$rg" --location "$LOCATION" --output none
done

run az identity create --name "$IDENTITY" --resource-group "$RG_DEV" --location "$LOCATION" --output none
CLIENT_ID="$(query client-id az identity show --name "$IDENTITY" --resource-group "$RG_DEV" --query clientId --output tsv)"
PRINCIPAL_ID="$(query principal-id az identity show --name "$IDENTITY" --resource-group "$RG_DEV" --query principalId --output tsv)"

for rg in "$RG_DEV" "$RG_PROD"; do
  for role in "$CONTRIBUTOR" "$RBAC_ADMIN"; do
    run az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \
      --role "$role" --scope "/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${rg}" --output none
  done
done

federate() {
  run az identity federated-credential create --name "$1" --identity-name "$IDENTITY" --resource-group "$RG_DEV" \
    --issuer "$2" --subject "$3" --audiences api://AzureADTokenExchange --output none
}

if [ -n "$GITHUB_REPO" ]; then
  issuer="https://token.actions.githubusercontent.com"
  federate github-dev "$issuer" "repo:${GITHUB_REPO}:environment:dev"
  federate github-prod "$issuer" "repo:${GITHUB_REPO}:environment:prod"
  federate github-pull-request "$issuer" "repo:${GITHUB_REPO}:pull_request"
  for env in dev prod; do
    run gh api --method PUT "repos/${GITHUB_REPO}/environments/${env}" --silent
    run gh variable set AZURE_CLIENT_ID --env "$env" --repo "$GITHUB_REPO" --body "$CLIENT_ID"
    run gh variable set AZURE_TENANT_ID --env "$env" --repo "$GITHUB_REPO" --body "$TENANT_ID"
    run gh variable set AZURE_SUBSCRIPTION_ID --env "$env" --repo "$GITHUB_REPO" --body "$SUBSCRIPTION_ID"
    run gh variable set CI_PRINCIPAL_ID --env "$env" --repo "$GITHUB_REPO" --body "$PRINCIPAL_ID"
  done
  echo "Next: in GitHub, Settings > Environments > prod, add required reviewers (the prod job waits for them)."
fi

if [ "$AZURE_DEVOPS" -eq 1 ]; then
  if [ -n "$ADO_ISSUER" ] && [ -n "$ADO_SUBJECT" ]; then
    federate "ado-${ADO_SUBJECT##*/}" "$ADO_ISSUER" "$ADO_SUBJECT"  # one per service connection
  fi
  cat <<EOF
Next, in Azure DevOps (Project settings > Service connections > Azure Resource Manager > Workload identity
federation (manual)), for each of mlops-dev and mlops-prod enter:
  subscription id  ${SUBSCRIPTION_ID}
  tenant id        ${TENANT_ID}
  client id        ${CLIENT_ID}
then run this script again with --ado-issuer and --ado-subject as the service connection shows them.
Variable groups mlops-dev and mlops-prod: AZURE_SUBSCRIPTION_ID=${SUBSCRIPTION_ID}, AZURE_TENANT_ID=${TENANT_ID},
CI_PRINCIPAL_ID=${PRINCIPAL_ID}. Add an approval check to the environment prod.
EOF
fi
