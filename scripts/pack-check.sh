#!/usr/bin/env bash
# Proves that the packages work on their own (docs/packages.md):
#   1. packs every project under src/ into a temporary local feed and checks each package's metadata;
#   2. installs the self tool from that feed (dotnet tool install --tool-path) and runs `self --help`;
#   3. starts a network with the installed tool (`self network serve` on a free loopback port);
#   4. creates a fresh console app outside the repository that takes Self.Sdk and Self.Device from the feed (and
#      their dependencies from nuget.org), builds it, and runs one real authentication against that network.
# Prints one closing line, "pack-check: passed" or "pack-check: FAILED (<step>)", and exits 0 or 1.
#
#   scripts/pack-check.sh              build and pack
#   scripts/pack-check.sh --no-build   pack what `dotnet build Self.slnx -c Release` built (as scripts/test.sh does)
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
build=()
[ "${1:-}" = "--no-build" ] && build=(--no-build)

work="$(mktemp -d "${TMPDIR:-/tmp}/self-pack-check.XXXXXX")"
feed="$work/feed"
log="$work/log"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "pack-check: FAILED ($1)"
  [ -s "$log" ] && tail -n 30 "$log"
  exit 1
}

# ---- 1. pack ---------------------------------------------------------------------------------------------------
# SourceLink only where the clone has a GitHub remote to point at (src/Directory.Build.props).
sourcelink=false
case "$(git remote get-url origin 2>/dev/null)" in *github.com*) sourcelink=true ;; esac
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' src/Directory.Build.props)"
[ -n "$version" ] || fail "no VersionPrefix in src/Directory.Build.props"

projects=(src/*/*.csproj)
for project in "${projects[@]}"; do
  dotnet pack "$project" -c Release -o "$feed" "${build[@]}" -p:SelfSourceLink="$sourcelink" -p:ContinuousIntegrationBuild=true \
    >"$log" 2>&1 || fail "dotnet pack $project"
done

for project in "${projects[@]}"; do
  id="$(sed -n 's:.*<PackageId>\(.*\)</PackageId>.*:\1:p' "$project")"
  [ -n "$id" ] || id="$(basename "$project" .csproj)"
  package="$feed/$id.$version.nupkg"
  [ -f "$package" ] || fail "no package $id $version"
  [ -f "$feed/$id.$version.snupkg" ] || fail "no symbols package for $id"
  nuspec="$(unzip -p "$package" '*.nuspec')"
  for field in '<description>' '<license type="expression">' '<readme>README.md</readme>' '<icon>icon.png</icon>' '<tags>'; do
    grep -qF "$field" <<<"$nuspec" || fail "$id: nuspec lacks $field"
  done
  grep -q 'Package Description' <<<"$nuspec" && fail "$id: the default description"
  listing="$(unzip -l "$package")"
  grep -q ' README.md$' <<<"$listing" || fail "$id: README.md is not in the package"
done
echo "packed ${#projects[@]} packages $version (with .snupkg symbols) into a temporary feed"

# Our packages only from the feed; everything else from nuget.org; a package cache of its own, so that nothing
# earlier (a package of the same version made from other sources) is used.
cat >"$work/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="Self.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
EOF
export NUGET_PACKAGES="$work/packages"

# ---- 2. the tool ---------------------------------------------------------------------------------------------
(cd "$work" && dotnet tool install --tool-path "$work/tool" Self.Cli --version "$version" --configfile "$work/nuget.config") \
  >"$log" 2>&1 || fail "dotnet tool install Self.Cli"
"$work/tool/self" --help >"$log" 2>&1 || fail "self --help"
grep -q "network" "$log" || fail "self --help does not list the network command"
echo "installed the self tool from the feed; self --help works"

# ---- 3. a network from the installed tool --------------------------------------------------------------------
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || fail "no free port"
admin="pack-check-admin-$RANDOM$RANDOM"
"$work/tool/self" network serve --urls "http://127.0.0.1:$port" --data "$work/network" --admin-token "$admin" \
  >"$work/server.log" 2>&1 &
server_pid=$!

# ---- 4. a fresh app that uses the packages -------------------------------------------------------------------
app="$work/consumer"
mkdir -p "$app"
cp "$work/nuget.config" "$app/nuget.config"
cat >"$app/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Self.Sdk" Version="$version" />
    <PackageReference Include="Self.Device" Version="$version" />
  </ItemGroup>
</Project>
EOF
cat >"$app/Program.cs" <<'EOF'
using Self.Device;
using Self.Sdk;
using Self.Sdk.Apps;

var api = new Uri(args[0]);
var admin = args[1];
var storage = Path.Combine(AppContext.BaseDirectory, "storage");

using (var http = new HttpClient())
{
    for (var attempt = 0; ; attempt++)
    {
        try
        {
            (await http.GetAsync(new Uri(api, "/healthz"))).EnsureSuccessStatusCode();
            break;
        }
        catch (HttpRequestException) when (attempt < 240)
        {
            await Task.Delay(250);
        }
    }
}

var app = await SelfApps.CreateAsync(api, admin, "Pack Check");
await using var device = await SelfDevice.RegisterAsync(new SelfDeviceOptions
{
    ServerUrl = api,
    StorageDirectory = Path.Combine(storage, "device"),
    StorageKey = "pack-check-device-key",
    ConsentPolicy = ConsentPolicies.AlwaysAccept,
});
await device.ConnectAsync(app.AppId);

await using var client = new SelfClient(new SelfClientOptions
{
    AppId = app.AppId,
    AppSecret = app.Secret,
    StorageKey = "pack-check-app-key",
    StorageDirectory = Path.Combine(storage, "app"),
    ApiUrl = api,
});
await client.StartAsync();
var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(TimeSpan.FromSeconds(60));
Console.WriteLine($"authentication: {response.Status}");
return response.Accepted ? 0 : 1;
EOF
(cd "$app" && dotnet build -c Release) >"$log" 2>&1 || fail "the consumer app does not build from the packages"
grep -q "Self.Sdk.dll" < <(ls "$app/bin/Release/net10.0/") || fail "the consumer app has no Self.Sdk.dll"
(cd "$app" && dotnet run -c Release --no-build -- "http://127.0.0.1:$port/" "$admin") >"$log" 2>&1 \
  || { cat "$work/server.log" >>"$log"; fail "the consumer app did not authenticate against the network"; }
grep -q "authentication: Accepted" "$log" || fail "no accepted authentication"
echo "a fresh console app built from the feed authenticated a user against 'self network serve' from the installed tool"
echo "pack-check: passed"
