"""labkit: helpers for the AWS access keys lab."""
