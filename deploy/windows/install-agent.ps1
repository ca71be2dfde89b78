# Installs the linkwatch agent on a Windows station PC as a scheduled task that starts at boot, runs as SYSTEM and
# is restarted if it stops. Uses only what Windows ships (no service wrapper to download).
# Run in an elevated PowerShell from the linkwatch folder, after `npm ci` and `npm run build`:
#   powershell -ExecutionPolicy Bypass -File deploy\windows\install-agent.ps1 -Config C:\ProgramData\linkwatch\agent.yaml
# Not exercised in CI (Linux only); see docs/deploy.md.
param(
  [Parameter(Mandatory = $true)][string]$Config,
  [string]$Node = (Get-Command node.exe -ErrorAction Stop).Source,
  [string]$TaskName = 'linkwatch-agent'
)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..\..')
$cli = Join-Path $root 'bin\linkwatch.js'
if (-not (Test-Path $Config)) { throw "config not found: $Config" }

# Check the config before installing: exit code 2 names the offending key.
& $Node $cli agent --config $Config --once | Out-Host
if ($LASTEXITCODE -ne 0) { throw "linkwatch agent --once failed (exit $LASTEXITCODE): fix the config first" }

$action = New-ScheduledTaskAction -Execute $Node -Argument "`"$cli`" agent --config `"$Config`"" -WorkingDirectory $root
$trigger = New-ScheduledTaskTrigger -AtStartup
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
  -ExecutionTimeLimit ([TimeSpan]::Zero) -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings -Principal $principal -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName
Write-Host "linkwatch agent installed as scheduled task '$TaskName' and started."
