# Installs the linkwatch agent on a Windows station PC as a service, from the folder this script is in:
#   linkwatch-agent-win-x64.exe, nssm.exe, install-agent.ps1 (from `npm run build:exe`, dist/exe/), and the station's
#   agent.yaml, CA certificate, client certificate/key and broker password file (`linkwatch credentials`).
# The programs go to %ProgramFiles%\linkwatch, the config, credentials, outbox and logs to %ProgramData%\linkwatch;
# the config is checked (`--once`: every probe measured once, nothing sent), then the service is installed and started:
# NSSM under the Service Control Manager, as NT AUTHORITY\LocalService, restarted on exit, logs rotated at 10 MB.
# One command, in an elevated PowerShell, from the copied folder (USB stick or share):
#   powershell -ExecutionPolicy Bypass -File .\install-agent.ps1
# Again with a new folder to upgrade (the service is stopped, the files replaced, the service started).
# Exercised under Wine only as far as the executable's `service` commands go (docs/deploy.md); this script itself runs
# on real Windows only.
param(
  [string]$Source = $PSScriptRoot,
  [string]$Programs = (Join-Path $env:ProgramFiles 'linkwatch'),
  [string]$Data = (Join-Path $env:ProgramData 'linkwatch')
)
$ErrorActionPreference = 'Stop'
$exeName = 'linkwatch-agent-win-x64.exe'
foreach ($f in @($exeName, 'nssm.exe', 'agent.yaml')) {
  if (-not (Test-Path (Join-Path $Source $f))) { throw "missing in ${Source}: $f" }
}
$exe = Join-Path $Programs $exeName
$upgrade = $false
if (Test-Path $exe) {
  & $exe service status | Out-Null
  $upgrade = ($LASTEXITCODE -eq 0)
  if ($upgrade) { & $exe service stop | Out-Host }   # an upgrade: free the files first
}

New-Item -ItemType Directory -Force -Path $Programs, $Data | Out-Null
Copy-Item -Force (Join-Path $Source $exeName), (Join-Path $Source 'nssm.exe') $Programs
# Config and credentials: everything else in the folder (yaml, pem, crt, key, secret files).
Get-ChildItem -File $Source | Where-Object { $_.Name -notin @($exeName, 'nssm.exe', 'install-agent.ps1') } |
  Copy-Item -Force -Destination $Data
$config = Join-Path $Data 'agent.yaml'

# Check the config first: exit code 2 names the offending key; the table shows what each probe measured.
& $exe --config $config --once | Out-Host
if ($LASTEXITCODE -ne 0) { throw "linkwatch-agent --once failed (exit $LASTEXITCODE): fix $config first" }

if ($upgrade) { & $exe service start | Out-Host } else { & $exe service install --config $config --data $Data | Out-Host }
if ($LASTEXITCODE -ne 0) { throw "service install/start failed (exit $LASTEXITCODE)" }
& $exe service status | Out-Host
Write-Host "linkwatch agent installed: service 'linkwatch-agent', logs in $Data\logs, outbox as configured."
