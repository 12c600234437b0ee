#!/usr/bin/env bash
# One-time Azure setup for CI/CD, run by a person allowed to register resource providers, create resource groups
# and assign roles in the subscription (Owner, or Contributor plus User Access Administrator). It:
#   - registers the resource providers infra/ needs, which the CI identities cannot do later (a subscription-level
#     action; a new subscription would fail its first deployment with MissingSubscriptionRegistration),
#   - creates the dev and prod resource groups (names from config/environments.toml),
#   - creates three user-assigned managed identities for CI, trusted through federated credentials (OIDC, no
#     secret anywhere), each with the least it needs, on its own resource group only:
#       ci-dev   deploys and trains in dev    Contributor and Role Based Access Control Administrator on the dev
#                                             group, the latter limited to assigning the roles infra/ grants
#       ci-prod  deploys and trains in prod   the same on the prod group (+ Reader on the dev group when models
#                                             go through an Azure ML registry: promote reads the dev model)
#       ci-pr    previews pull requests       a custom role on the dev group: read everything, preview deployments
#     so a job in the dev environment can never change prod, and pull-request code can change nothing;
#     infra/ then grants each CI identity its data-plane roles in its own environment,
#   - sets the CI variables: GitHub repository and environment variables (gh), or prints what to enter in Azure
#     DevOps.
#
# Usage:
#   scripts/bootstrap_azure.sh --github OWNER/REPO [--dry-run]
#   scripts/bootstrap_azure.sh --azure-devops [--ado-issuer URL --ado-subject SUBJECT] [--dry-run]
#
#   --github OWNER/REPO  trust GitHub Actions of that repository (environments dev and prod, pull requests)
#   --azure-devops       print the service connections and variable groups to create in Azure DevOps; run again
#                        with --ado-issuer and --ado-subject, as each service connection shows them, to trust it
#   --dry-run            print every command instead of running it (no login needed); values that exist only
#                        once a command has run appear as <placeholders>
#   -h, --help           show this help
#
# Every step checks before it creates anything (only the CI variables are set again, to their values), so the script
# can be run again after a failure, with any Azure CLI release (a new custom role can take a minute to become
# assignable). Needs az (logged in), python3 and, with --github, the GitHub CLI gh (logged in).
set -euo pipefail

usage() {  # the comment block at the top of this file
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
}

fail_usage() {
  echo "$1 (scripts/bootstrap_azure.sh --help shows the usage)" >&2
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
    --github) [ $# -ge 2 ] || fail_usage "--github needs OWNER/REPO"; GITHUB_REPO="$2"; shift ;;
    --azure-devops) AZURE_DEVOPS=1 ;;
    --ado-issuer) [ $# -ge 2 ] || fail_usage "--ado-issuer needs a URL"; ADO_ISSUER="$2"; shift ;;
    --ado-subject) [ $# -ge 2 ] || fail_usage "--ado-subject needs a subject"; ADO_SUBJECT="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail_usage "unknown option: $1" ;;
  esac
  shift
done
if [ -z "$GITHUB_REPO" ] && [ "$AZURE_DEVOPS" -eq 0 ]; then
  fail_usage "choose the CI platform: --github OWNER/REPO or --azure-devops"
fi
if [ -n "$GITHUB_REPO" ] && ! [[ "$GITHUB_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
  fail_usage "--github expects OWNER/REPO, not '$GITHUB_REPO'"  # also keeps it a plain word in the checks below
fi
# An Azure DevOps subject ends with its service connection's name, which says which identity it may use.
ADO_IDENTITY=""
if [ -n "$ADO_SUBJECT" ]; then
  case "${ADO_SUBJECT##*/}" in
    mlops-dev) ADO_IDENTITY="dev" ;;
    mlops-prod) ADO_IDENTITY="prod" ;;
    mlops-pr) ADO_IDENTITY="pr" ;;
    *) fail_usage "--ado-subject must end with mlops-dev, mlops-prod or mlops-pr, not '${ADO_SUBJECT##*/}'" ;;
  esac
fi

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# Names, read from the configuration that the mlops package and infra/ use (written once, derived at generation), and
# role ids, from the one table of them (infra/built-in-roles.json, checked against Microsoft's): one interpreter.
# GRANTED_ROLES: the deploying identities may create and delete role assignments of the roles infra/ grants, and no
# others (so they cannot make themselves Owner); the roles are read from the Bicep modules, where they are named.
SETTINGS="$("$PYTHON" - <<'PY'
import json, pathlib, re, shlex, tomllib
config = tomllib.loads(pathlib.Path("config/environments.toml").read_text(encoding="utf-8"))
ids = json.loads(pathlib.Path("infra/built-in-roles.json").read_text(encoding="utf-8"))["roles"]
named = set()
for module in sorted(pathlib.Path("infra/modules").glob("*.bicep")):
    for groups in re.findall(r"builtInRoles\['([^']+)'\]|builtInRoles\.(\w+)|\.roles\['([^']+)'\]", module.read_text()):
        named.add(next(group for group in groups if group))
values = {
    "PREFIX": config["resource_prefix"],
    "LOCATION": config["dev"]["location"],
    "RG_DEV": config["dev"]["resource_group"],
    "RG_PROD": config["prod"]["resource_group"],
    "REGISTRY": config["prod"].get("ml_registry", ""),
    "CONTRIBUTOR": ids["Contributor"],
    "RBAC_ADMIN": ids["Role Based Access Control Administrator"],
    "READER": ids["Reader"],
    "GRANTED_ROLES": ", ".join(sorted(ids[name] for name in named)),
}
print("\n".join(f"{name}={shlex.quote(value)}" for name, value in values.items()))
PY
)"
eval "$SETTINGS"
WHAT_IF_ROLE="${RG_DEV} what-if reader"  # custom role names are unique per tenant

# A command as a person would type it: plain words bare, the rest in quotes (no backslash escapes), so the dry run
# can be read, reviewed and pasted.
show() {
  local word out=""
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+="$word "
    elif [[ "$word" != *"'"* ]]; then
      out+="'$word' "
    else
      word="${word//\\/\\\\}"; word="${word//\"/\\\"}"; word="${word//\$/\\\$}"; word="${word//\`/\\\`}"
      out+="\"$word\" "
    fi
  done
  printf '%s\n' "${out% }"
}

run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    show "$@"
  else
    "$@"
  fi
}

# A value that only exists once a command has run: a placeholder in a dry run.
query() {
  local placeholder="$1"
  shift
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '<%s>' "$placeholder"
  else
    "$@"
  fi
}

# Run "$@" unless CHECK (a command printing something when the thing exists) finds it; a dry run prints both.
unless_exists() {
  local check="$1"
  shift
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '# unless %s prints something:\n' "$check"
    show "$@"
  elif [ -z "$(eval "$check")" ]; then
    "$@"
  fi
}

SUBSCRIPTION_ID="$(query subscription-id az account show --query id --output tsv)"
TENANT_ID="$(query tenant-id az account show --query tenantId --output tsv)"
scope() { printf '/subscriptions/%s/resourceGroups/%s' "$SUBSCRIPTION_ID" "$1"; }

# Resource providers: every namespace infra/ deploys resource types of, and the managed identities created below.
# Microsoft.Authorization is registered in every subscription. Registration is asynchronous: the first deployment
# waits for it if it has not finished.
PROVIDERS="$({ grep -ohE "'Microsoft\.[A-Za-z]+/" infra/main.bicep infra/modules/*.bicep | tr -d "'/"; \
  echo Microsoft.ManagedIdentity; } | grep -vx Microsoft.Authorization | sort -u)"
for provider in $PROVIDERS; do
  unless_exists "az provider show --namespace $provider --query \"registrationState=='Registered' || null\" --output tsv" \
    az provider register --namespace "$provider" --output none
done

# Checked first, like everything below: a create is a PUT that replaces what exists, its tags included (a group's tags
# are cleared, Azure/azure-cli#11513, and a policy requiring tags would refuse the re-run).
for rg in "$RG_DEV" "$RG_PROD"; do
  unless_exists "az group show --name $rg --query id --output tsv 2>/dev/null" \
    az group create --name "$rg" --location "$LOCATION" --output none
done

# The identity of ROLE (dev, prod, pr): its name, its resource group, and once created its client and principal ids.
identity_name() { printf 'id-%s-ci-%s' "$PREFIX" "$1"; }
identity_group() { if [ "$1" = prod ]; then printf '%s' "$RG_PROD"; else printf '%s' "$RG_DEV"; fi; }
identity_id() {  # identity_id ROLE clientId|principalId: looked up once, when the identity is created below
  local stored="IDENTITY_${1}_${2}"
  printf '%s' "${!stored}"
}

grant() {  # grant ROLE AZURE_ROLE RESOURCE_GROUP [extra az arguments]
  local who="$1" role="$2" group="$3" principal
  shift 3
  principal="$(identity_id "$who" principalId)"
  # Checked first: re-creating an existing assignment fails on some Azure CLI releases.
  unless_exists "az role assignment list --assignee $principal --role '$role' --scope $(scope "$group") --query [0].id --output tsv" \
    az role assignment create --assignee-object-id "$principal" --assignee-principal-type ServicePrincipal \
    --role "$role" --scope "$(scope "$group")" "$@" --output none
}

ONLY_GRANTED_ROLES="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR \
(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${GRANTED_ROLES}})) \
AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR \
(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${GRANTED_ROLES}}))"

# The role ids a condition names, in order, once each: two conditions allow the same roles when these are equal.
condition_roles() { grep -oiE '[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}' <<<"$1" | tr 'A-F' 'a-f' | sort -u | tr '\n' ' '; }

# A conditioned assignment made by an earlier run names the roles infra/ granted then. When infra/ grants another role
# since, deploying it would be refused: the outdated assignment is deleted, and grant makes it again with the list of
# now. (A dry run cannot read the current condition, so it prints the check.)
renew_if_outdated() {  # renew_if_outdated ROLE AZURE_ROLE RESOURCE_GROUP CONDITION
  local list current
  list="az role assignment list --assignee $(identity_id "$1" principalId) --role '$2' --scope $(scope "$3")"
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '# if %s --query [0].condition --output tsv names other roles than the condition below:\n' "$list"
    show az role assignment delete --ids "<its id>" --output none
    return
  fi
  current="$(eval "$list --query [0].condition --output tsv")"
  if [ -n "$current" ] && [ "$(condition_roles "$current")" != "$(condition_roles "$4")" ]; then
    az role assignment delete --ids "$(eval "$list --query [0].id --output tsv")" --output none
  fi
}

federate() {  # federate ROLE CREDENTIAL_NAME ISSUER SUBJECT
  unless_exists "az identity federated-credential show --identity-name $(identity_name "$1") --resource-group $(identity_group "$1") --name $2 --query id --output tsv 2>/dev/null" \
    az identity federated-credential create --identity-name "$(identity_name "$1")" \
    --resource-group "$(identity_group "$1")" --name "$2" --issuer "$3" --subject "$4" \
    --audiences api://AzureADTokenExchange --output none
}

for role in dev prod pr; do
  unless_exists "az identity show --name $(identity_name "$role") --resource-group $(identity_group "$role") --query id --output tsv 2>/dev/null" \
    az identity create --name "$(identity_name "$role")" --resource-group "$(identity_group "$role")" \
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
  renew_if_outdated "$env" "$RBAC_ADMIN" "$group" "$ONLY_GRANTED_ROLES"
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
unless_exists "az role definition list --name '$WHAT_IF_ROLE' --scope $(scope "$RG_DEV") --query [0].name --output tsv" \
  az role definition create --role-definition "$WHAT_IF_DEFINITION" --output none
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
    # Created only when missing: a re-run never writes to an environment whose protection rules were set by hand.
    unless_exists "gh api repos/${GITHUB_REPO}/environments/${env} --jq .name 2>/dev/null" \
      gh api --method PUT "repos/${GITHUB_REPO}/environments/${env}" --silent
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
