{{/* Names. The operator's pods always carry app.kubernetes.io/name=agentry-operator: the
NetworkPolicy the operator renders for every Agent admits that label from the operator's
namespace. */}}
{{- define "agentry.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "agentry.operatorName" -}}
{{- printf "%s-operator" (include "agentry.fullname" .) -}}
{{- end -}}

{{- define "agentry.selectorLabels" -}}
app.kubernetes.io/name: agentry-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "agentry.labels" -}}
{{ include "agentry.selectorLabels" . }}
app.kubernetes.io/part-of: agentry
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "agentry.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "agentry.operatorName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository@digest, else repository:tag (tag defaults to the appVersion). */}}
{{- define "agentry.image" -}}
{{- $img := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "agentry.defaultPolicy" -}}
{{- if .Values.defaultPolicy -}}
{{- .Values.defaultPolicy -}}
{{- else -}}
{{- (index .Values.policies .Values.profile).name -}}
{{- end -}}
{{- end -}}

{{/* The alert thresholds of the profile, with monitoring.prometheusRule.thresholds on top. */}}
{{- define "agentry.thresholds" -}}
{{- $p := dict "apiP95Seconds" 0.2 "memoryPercent" 80 "cpuPercent" 70 "redisPoolPercent" 80 "workflowStartSeconds" 0.5 -}}
{{- if eq .Values.profile "development" -}}
{{- $p = dict "apiP95Seconds" 2 "memoryPercent" 90 "cpuPercent" 90 "redisPoolPercent" 90 "workflowStartSeconds" 5 -}}
{{- end -}}
{{- toJson (merge (deepCopy .Values.monitoring.prometheusRule.thresholds) $p) -}}
{{- end -}}

{{/* Checks the schema cannot express. */}}
{{- define "agentry.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.operator.leaderElect) -}}
{{- fail (printf "replicaCount is %d but operator.leaderElect is false: more than one operator replica needs leader election (set operator.leaderElect=true or replicaCount=1)" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if gt (len .Values.watchNamespaces) 1 -}}
{{- fail (printf "watchNamespaces has %d entries: the operator watches one namespace or all of them (leave it empty)" (len .Values.watchNamespaces)) -}}
{{- end -}}
{{- end -}}

{{/* The console's labels (templates/console.yaml). */}}
{{- define "agentry.consoleLabels" -}}
app.kubernetes.io/name: agentry-console
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: agentry
{{- end -}}
