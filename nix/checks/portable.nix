# checks.x86_64-linux.portable-control-plane-regressions: the lane for hosts
# without /dev/kvm. In the build sandbox (no network, no KVM): the harness's
# unit tests, then the smoke layers that need only units, health endpoints
# and ports (boot and protocols) on the six nodes of `cluster-images`, booted
# under TCG by the same harness (ULTRACLOUD_NIX_IMAGES: the prebuilt images,
# so no nix build runs inside the build). JUnit and the console in $out.
{ lib, runCommand, harness, clusterImages, hostTools, nodejs_22 }:
runCommand "portable-control-plane-regressions"
{
  nativeBuildInputs = hostTools ++ [ nodejs_22 ];
  # Six TCG guests: give the build the machine's cores and memory, and time.
  requiredSystemFeatures = [ "big-parallel" ];
  meta.timeout = 4 * 3600;
}
  ''
    export HOME=$TMPDIR
    export CI=true
    export PHOTON_VM_DIR=$TMPDIR/state
    export ULTRACLOUD_IMAGE_CACHE=$TMPDIR/cache
    export ULTRACLOUD_STACK=ultracloud
    export ULTRACLOUD_ACCEL=tcg
    export ULTRACLOUD_NIX_IMAGES=${clusterImages}
    export ULTRACLOUD_APP_DIR=$TMPDIR/app
    mkdir -p $out
    # The harness runs from a writable copy, as `nix run .#cluster` does.
    ${harness}/bin/cluster help > /dev/null
    cd $ULTRACLOUD_APP_DIR
    vitest="node node_modules/vitest/vitest.mjs"
    status=0
    $vitest run --project unit --outputFile.junit=$out/unit.junit.xml 2>&1 | tee $out/unit.log || status=1
    $vitest run tests/smoke/boot.test.ts tests/smoke/protocols.test.ts --outputFile.junit=$out/smoke-tcg.junit.xml 2>&1 | tee $out/smoke-tcg.log || status=1
    node bin/cluster.mjs stop || true
    exit $status
  ''
