# The Self network server (`self network serve`) as a container: built with the SDK, run on the ASP.NET Core
# runtime image as its non-root 'app' user, data (SQLite database, admin token) in the /data volume.
#   docker build -t self-network .
#   docker run -p 8080:8080 -v self-data:/data self-network
# Configuration: SELF_… environment variables, or an appsettings.json mounted at /app/appsettings.json
# (docs/operations.md). tests/Self.EndToEnd.Tests/Operations runs the ENTRYPOINT + CMD below against the build output.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Self.Cli/Self.Cli.csproj -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /out .
RUN mkdir /data && chown app:app /data
USER app
VOLUME /data
# 8080: REST API and messaging websocket; 9464: /metrics (Prometheus), kept off the public port.
EXPOSE 8080 9464
ENTRYPOINT ["dotnet", "/app/self.dll", "network", "serve"]
CMD ["--urls", "http://0.0.0.0:8080", "--data", "/data", "--metrics-port", "9464", "--log-format", "json"]
