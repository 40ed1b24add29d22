# The harness as a package: the project's sources with a node_modules built
# from package-lock.json (importNpmLock: one fixed-output fetch per locked
# package, no hashes to keep here), and `bin/cluster` running cli/main.ts
# with the host tools on its PATH.
#
# The harness writes beside its sources (reports/, docs/, .env), so
# `bin/cluster` runs from a writable copy: $ULTRACLOUD_APP_DIR (default
# ${XDG_DATA_HOME:-~/.local/share}/ultracloud-test-cluster/app), refreshed when
# the store path changes, its node_modules entries linked to the store.
{ lib
, buildNpmPackage
, importNpmLock
, nodejs_22
, makeWrapper
, src
, hostTools
}:
buildNpmPackage {
  pname = "ultracloud-test-cluster";
  version = "0.1.0";
  inherit src;
  nodejs = nodejs_22;

  npmDeps = importNpmLock { npmRoot = src; };
  npmConfigHook = importNpmLock.npmConfigHook;
  dontNpmBuild = true;
  nativeBuildInputs = [ makeWrapper ];

  installPhase = ''
    runHook preInstall
    share=$out/share/ultracloud-test-cluster
    mkdir -p $share $out/bin
    cp -r . $share
    rm -rf $share/.git $share/reports
    cat > $out/bin/cluster-run <<'RUN'
    #!/usr/bin/env bash
    # Runs the harness from a writable copy of the store sources (see nix/harness.nix).
    set -euo pipefail
    store="@share@"
    app="''${ULTRACLOUD_APP_DIR:-''${XDG_DATA_HOME:-$HOME/.local/share}/ultracloud-test-cluster/app}"
    if [ "$(cat "$app/.store-source" 2>/dev/null)" != "$store" ]; then
      mkdir -p "$app"
      (cd "$store" && find . -path ./node_modules -prune -o -type f -print0) | (cd "$store" && xargs -0 cp --parents -f -t "$app")
      chmod -R u+w "$app"
      rm -rf "$app/node_modules"
      mkdir -p "$app/node_modules"
      for e in "$store"/node_modules/* "$store"/node_modules/.bin "$store"/node_modules/.package-lock.json; do
        [ -e "$e" ] && ln -sfn "$e" "$app/node_modules/$(basename "$e")"
      done
      printf '%s\n' "$store" > "$app/.store-source"
    fi
    cd "$app"
    exec "@node@" "$app/bin/cluster.mjs" "$@"
    RUN
    substituteInPlace $out/bin/cluster-run --replace-fail @share@ "$share" --replace-fail @node@ "${lib.getExe' nodejs_22 "node"}"
    chmod +x $out/bin/cluster-run
    makeWrapper $out/bin/cluster-run $out/bin/cluster --prefix PATH : ${lib.makeBinPath hostTools}
    runHook postInstall
  '';

  meta = {
    description = "UltraCloud test cluster harness: six QEMU nodes, validated layer by layer";
    mainProgram = "cluster";
    platforms = [ "x86_64-linux" ];
  };
}
