{{/* The chart's short name. */}}
{{- define "gitward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's namespaced objects: the release name, with the chart
name appended unless the release name already contains it.
*/}}
{{- define "gitward.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Cluster-scoped objects are shared by every release in the cluster, so their
names carry the release namespace too: two installs never clash.
*/}}
{{- define "gitward.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "gitward.fullname" .) }}
{{- end }}

{{- define "gitward.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gitward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gitward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gitward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gitward.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gitward.secretName" -}}
{{- default (include "gitward.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "gitward.recordsNamespace" -}}
{{- default .Release.Namespace .Values.recordsNamespace }}
{{- end }}

{{/* The Lease the replicas compete for: one per release, so two installs never share it. */}}
{{- define "gitward.replicas" -}}
{{- max (int .Values.replicaCount) (int .Values.shards) }}
{{- end }}

{{- define "gitward.leaseName" -}}
{{- include "gitward.fullname" . }}
{{- end }}

{{- define "gitward.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- with .Values.image.digest }}@{{ . }}{{ end }}
{{- end }}

{{/*
Refuse values that would let gitward read Secrets cluster-wide or escalate its
own rights. Renders nothing; fails the install with a message naming the value.
*/}}
{{- define "gitward.checkRbac" -}}
{{- range $list := list "read" "manage" }}
{{- range (index $.Values.rbac $list) }}
{{- $core := or (has "" .apiGroups) (has "*" .apiGroups) }}
{{- if and $core (or (has "*" .resources) (has "secrets" .resources)) }}
{{- fail (printf "rbac.%s: the rule on apiGroups %s, resources %s covers Secrets; name the core resources one by one and grant Secrets through rbac.secrets.namespaces" $list (toJson .apiGroups) (toJson .resources)) }}
{{- end }}
{{- end }}
{{- end }}
{{- range .Values.rbac.manageVerbs }}
{{- if has . (list "bind" "escalate" "impersonate" "*") }}
{{- fail (printf "rbac.manageVerbs: %q would let gitward grant itself more rights; use rbac.impersonate for per-app ServiceAccounts" .) }}
{{- end }}
{{- end }}
{{- if and .Values.rbac.impersonate.enabled (not .Values.rbac.impersonate.serviceAccounts) }}
{{- fail "rbac.impersonate.enabled: list the ServiceAccounts in rbac.impersonate.serviceAccounts" }}
{{- end }}
{{- end }}

{{/* The controller's notification settings file: the `notifications` values as its `notifications:` section. */}}
{{- define "gitward.notificationsFile" -}}
{{- $section := dict "providers" .Values.notifications.providers }}
{{- with .Values.notifications.retry }}
{{- $_ := set $section "retry" . }}
{{- end }}
{{- toYaml (dict "notifications" $section) }}
{{- end }}

{{/* The Secrets the notification settings name (secretRef), as a JSON list without repeats. */}}
{{- define "gitward.notificationSecrets" -}}
{{- $names := list }}
{{- range .Values.notifications.providers }}
{{- with .secretRef }}
{{- $names = append $names .name }}
{{- end }}
{{- end }}
{{- toJson ($names | uniq) }}
{{- end }}

{{/*
Refuse combinations of the UI, rollback and notification values the controller
could not start with or would not use as meant. Renders nothing; fails the
install with a message naming the value.
*/}}
{{- define "gitward.checkFeatures" -}}
{{- $shards := .Values.shards }}
{{- if or (not (or (kindIs "int64" $shards) (kindIs "int" $shards) (kindIs "float64" $shards))) (lt (float64 $shards) 1.0) (ne (float64 (int $shards)) (float64 $shards)) }}
{{- fail (printf "shards: %v is not a whole number of shards, 1 or more (1: one active replica, the others standby)" $shards) }}
{{- end }}
{{- if and (eq .Values.ui.usersSecret (include "gitward.secretName" .)) (eq (include "gitward.recordsNamespace" .) .Release.Namespace) }}
{{- fail (printf "ui.usersSecret: %s is the chart's credentials Secret, and every key of the users Secret is a user name; put the users' hashes in a Secret of their own" .Values.ui.usersSecret) }}
{{- end }}
{{- if .Values.rollback.enabled }}
{{- if not .Values.forge.url }}
{{- fail "rollback.enabled: the rollback button opens pull requests on the config repository's forge; set forge.url" }}
{{- end }}
{{- if not (or .Values.rollback.tokenSecret .Values.secret.existingSecret .Values.secret.promoterToken) }}
{{- fail "rollback.enabled: the rollback button needs the promoter's token: secret.promoterToken, rollback.tokenSecret, or a promoterToken key in secret.existingSecret" }}
{{- end }}
{{- end }}
{{- range $i, $p := .Values.notifications.providers }}
{{- $name := required (printf "notifications.providers[%d]: every provider needs a name" $i) $p.name }}
{{- if hasKey $p "secretFile" }}
{{- fail (printf "notifications.providers[%d] (%s): secretFile names a file in the pod, which the chart does not mount; use secretRef, a Secret in the records namespace" $i $name) }}
{{- end }}
{{- if and $p.secretRef (not $p.secretRef.name) }}
{{- fail (printf "notifications.providers[%d] (%s): secretRef needs a name" $i $name) }}
{{- end }}
{{- if and (eq (toString $p.type) "forge") (not $.Values.forge.url) }}
{{- fail (printf "notifications.providers[%d] (%s): a forge provider sets commit statuses through the controller's forge; set forge.url" $i $name) }}
{{- end }}
{{- end }}
{{- end }}
