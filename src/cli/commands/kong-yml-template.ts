/** What `portcullis config init` writes: a commented kong.yml to start from (Kong's `kong config init`). */
export const KONG_YML_TEMPLATE = `# ------------------------------------------------------------------------------
# A declarative configuration (kong.yml) for Portcullis, in Kong's format.
#
# Load it:
#   - DB-less:   database = off and declarative_config = /path/kong.yml in
#                kong.conf (or KONG_DATABASE=off KONG_DECLARATIVE_CONFIG=...),
#                then \`portcullis start -c kong.conf\`; \`portcullis reload\`
#                reads it again;
#   - running:   curl -X POST http://127.0.0.1:8001/config -F config=@kong.yml
#   - database:  portcullis config db_import kong.yml
# Check it:      portcullis config parse kong.yml
# ------------------------------------------------------------------------------

_format_version: "3.0"

#services:
#- name: example-service
#  url: http://example.com
#  # Routes written inside a service belong to it.
#  routes:
#  - name: example-route
#    paths:
#    - /example
#    # strip_path: true removes /example before the request goes upstream.
#    strip_path: true
#  # Plugins written inside a service (or a route) apply to it only.
#  plugins:
#  - name: key-auth
#    config:
#      key_names: [apikey]

#consumers:
#- username: example-user
#  # Credentials of bundled plugins are written inside their consumer.
#  keyauth_credentials:
#  - key: my-key

#plugins:
#  # A plugin written at the top level, without service/route/consumer, is global.
#- name: correlation-id
#  config:
#    header_name: Kong-Request-ID

#upstreams:
#- name: example-upstream
#  targets:
#  - target: 127.0.0.1:8080
#    weight: 100
`;
