terraform {
  # OpenTofu >= 1.8 and Terraform >= 1.6 both read this configuration; the test suite uses OpenTofu.
  required_version = ">= 1.6.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.45.0"
    }
  }

  # Remote state keeps the state (which holds every VM address and, for some resources, generated
  # values) out of the repository and lets two operators share one cluster safely (GCS locks natively).
  # Partial configuration: the bucket is passed at init time, see README "Remote state":
  #   tofu init -backend-config="bucket=<state bucket>" -backend-config="prefix=market-pipeline/<env>"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge(var.labels, {
    app        = "market-pipeline"
    managed-by = "terraform"
  })
}
