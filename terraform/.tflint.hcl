# The Google ruleset (tflint-ruleset-google) cannot be obtained from the package registries reachable here,
# so only the bundled Terraform language rules run; "all" enables the stricter ones (naming, typed
# variables, documented outputs, unused declarations, pinned providers).
config {
  format = "compact"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
