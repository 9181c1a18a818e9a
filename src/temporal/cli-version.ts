/** The Temporal CLI release compozy runs and installs. v1.5.1 is the newest tag `go install` accepts. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
