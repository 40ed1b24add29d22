# Stands in for UltraCloud's flake until one is given. Nothing here pretends
# to be UltraCloud: every output throws, saying how to point the input at the
# real flake. The harness passes ULTRACLOUD_FLAKE as that override.
{
  description = "placeholder for the 'ultracloud' input: override it with --override-input ultracloud <UltraCloud's flake>";

  outputs = { self }:
    let
      unset = throw "the flake input 'ultracloud' is not set: pass --override-input ultracloud <UltraCloud's flake reference> (the harness: ULTRACLOUD_FLAKE=<ref>)";
    in
    {
      nixosModules.default = unset;
      packages = unset;
      overlays.default = unset;
    };
}
