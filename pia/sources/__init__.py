"""Raw payloads in: Slack and PagerDuty APIs, workspace exports. The only code that touches the network or credentials."""
