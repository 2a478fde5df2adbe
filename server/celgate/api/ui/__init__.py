"""The approvals inbox (`/ui/approvals`): static HTML, JS and CSS served by celgate itself, no CDN."""
