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
