{{/* Names and labels shared by every object of the chart. */}}
{{- define "celgate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "celgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "celgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "celgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "celgate.labels" -}}
{{ include "celgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The policies setting handed to `celgate serve`. */}}
{{- define "celgate.policies" -}}
{{- if eq .Values.policies.source "git" -}}
{{- required "policies.git.url is required when policies.source is git" .Values.policies.git.url -}}
{{- else if or (eq .Values.policies.source "configMap") (eq .Values.policies.source "embedded") -}}
/policies
{{- else -}}
{{- fail (printf "policies.source must be embedded, configMap or git, not %q" .Values.policies.source) -}}
{{- end -}}
{{- end -}}
