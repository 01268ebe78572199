# escape=`
# The escape directive makes the backtick the continuation character (as on
# Windows); a backslash is then plain text.
FROM mcr.microsoft.com/powershell:lts-nanoserver-1809 `
  AS shell
RUN Write-Host C:\path\not\a\continuation
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
COPY --from=shell `
  C:\shell C:\shell
