//! Templates built in Rust equal the same templates written as files.

use antpath_sdk::{PermissionPolicy, TemplateBuilder, Var};
use antpath_template::load_template;

use crate::support::example;

fn mcp_template() -> TemplateBuilder {
    TemplateBuilder::new("mcp-static-bearer", "claude-sonnet-4-5")
        .description(
            "Answers a question with the tools of an MCP server that needs a bearer token. The token is not in this file: each run supplies it in secrets.mcpServers.docs.bearerToken (CLI: --mcp-bearer docs=TOKEN).",
        )
        .mcp_toolset("docs", Some(PermissionPolicy::AlwaysAllow))
        .mcp_server_static_bearer("docs", "https://mcp.example.com/mcp")
        .variable("question", Var::string().description("What to look up.").max_length(500))
        .variable(
            "depth",
            Var::number()
                .description("How many sources to consult.")
                .integer()
                .minimum(1.0)
                .maximum(5.0)
                .default(2.0),
        )
        .variable("tone", Var::one_of(["plain", "formal"]).default("plain"))
        .variable("cite", Var::boolean().default(true))
        .prompt("Use the docs tools to answer: {{question}}. Consult {{depth}} sources, write in a {{tone}} tone (citations: {{cite}}), and save the answer as /mnt/session/outputs/answer.md.\n\nantpath-sim: scenario=happy files=1 size=1024")
        .max_duration_seconds(900)
}

#[test]
fn a_built_template_has_the_same_json_and_hash_as_its_file() {
    let from_file = load_template(&example("mcp-static-bearer.json")).expect("example loads");
    let built = mcp_template().build().expect("valid");
    assert_eq!(built.to_normalised_value(), from_file.to_normalised_value());
    assert_eq!(built.hash(), from_file.hash());
}

#[test]
fn a_changed_variable_limit_changes_the_hash() {
    let from_file = load_template(&example("mcp-static-bearer.json")).expect("example loads");
    let changed = mcp_template()
        .variable(
            "question",
            Var::string()
                .description("What to look up.")
                .max_length(501),
        )
        .build()
        .expect("valid");
    assert_ne!(changed.hash(), from_file.hash());
}

#[test]
fn an_invalid_built_template_lists_every_problem_with_its_path() {
    let errors = TemplateBuilder::new("Bad Name", "claude-sonnet-4-5")
        .prompt("Hello {{missing}}")
        .variable("n", Var::number().minimum(5.0).maximum(1.0))
        .mcp_toolset("nowhere", None)
        .build()
        .expect_err("invalid");
    for path in ["/name", "/variables/n/minimum"] {
        assert!(errors.has_path(path), "{path}: {errors}");
    }
    assert!(errors.details().len() >= 4, "{errors}");
}
