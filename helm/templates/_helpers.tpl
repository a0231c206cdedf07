{{/* Chart name, overridable with nameOverride. */}}
{{- define "clinical-ai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: release name plus chart name, unless one contains the other. */}}
{{- define "clinical-ai.fullname" -}}
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

{{- define "clinical-ai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "clinical-ai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clinical-ai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "clinical-ai.labels" -}}
helm.sh/chart: {{ include "clinical-ai.chart" . }}
{{ include "clinical-ai.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "clinical-ai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "clinical-ai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "clinical-ai.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Claim backing config.dataDir: the existing one if given, else the one this chart creates. */}}
{{- define "clinical-ai.dataClaimName" -}}
{{- default (printf "%s-data" (include "clinical-ai.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* Directory the config file is mounted in; CLINICAL_AI_CONFIG points at config.json inside it. */}}
{{- define "clinical-ai.configDir" -}}
/etc/clinical-ai
{{- end }}
