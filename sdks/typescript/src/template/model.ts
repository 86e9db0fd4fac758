/**
 * The template document: the secret-free description of a run, exactly as a template file
 * holds it (camelCase field names, the provider's enum spellings). These types mirror the Rust
 * model in `crates/template/src/model.rs`; arrays are `readonly` so literal definitions can be
 * passed as they are.
 *
 * @module
 */

/** How tool calls are approved. */
export type PermissionPolicy = "always_allow" | "always_ask" | "auto";

/** The provider's built-in tools a config may name. */
export type AgentToolName =
  | "bash"
  | "edit"
  | "read"
  | "write"
  | "glob"
  | "grep"
  | "web_fetch"
  | "web_search";

/** Settings applied to every tool of a toolset unless overridden. */
export interface ToolDefaults {
  /** Whether the tools are available; absent leaves the provider's default. */
  readonly enabled?: boolean;
  /** Whether calls need approval; absent leaves the provider's default. */
  readonly permissionPolicy?: PermissionPolicy;
}

/** One override inside the built-in toolset. */
export interface AgentToolConfig extends ToolDefaults {
  /** Which tool. */
  readonly name: AgentToolName;
}

/** One override inside an MCP toolset. */
export interface McpToolConfig extends ToolDefaults {
  /** The MCP tool's name. */
  readonly name: string;
}

/** The provider's built-in tools (bash, file editing, web access). */
export interface AgentToolset {
  readonly type: "agent_toolset_20260401";
  readonly defaultConfig?: ToolDefaults;
  readonly configs?: readonly AgentToolConfig[];
}

/** The tools of one declared MCP server. */
export interface McpToolset {
  readonly type: "mcp_toolset";
  /** The `name` of an entry of `agent.mcpServers`. */
  readonly mcpServerName: string;
  readonly defaultConfig?: ToolDefaults;
  readonly configs?: readonly McpToolConfig[];
}

/** A client-executed tool; antpath does not answer custom tool calls, so runs reject it. */
export interface CustomTool {
  readonly type: "custom";
  readonly name: string;
  readonly description: string;
  /** A JSON Schema object for the tool's input. */
  readonly inputSchema: { readonly [key: string]: unknown };
}

/** One entry of `agent.tools`. */
export type Tool = AgentToolset | McpToolset | CustomTool;

/**
 * How antpath authenticates to an MCP server. The credential is never in the template: a
 * `static_bearer` server gets its token from each run's `secrets.mcpServers.<name>.bearerToken`.
 */
export type McpAuth = "none" | "static_bearer";

/** An MCP server reached over HTTPS (`http` for localhost only). */
export interface McpServer {
  /** Unique in the template; toolsets and `secrets.mcpServers` refer to it. */
  readonly name: string;
  readonly url: string;
  /** Absent means `none`. */
  readonly auth?: McpAuth;
}

/** A skill loaded into the agent. */
export interface Skill {
  readonly type: "anthropic" | "custom";
  readonly skillId: string;
  /** A pinned version such as `latest`; absent means the provider's latest. */
  readonly version?: string;
}

/** The agent the run creates. */
export interface Agent {
  /** The provider's model string, such as `claude-sonnet-4-5`. */
  readonly model: string;
  readonly system?: string;
  readonly tools?: readonly Tool[];
  readonly mcpServers?: readonly McpServer[];
  readonly skills?: readonly Skill[];
}

/** Packages per package manager, in each manager's own version syntax. */
export interface Packages {
  readonly apt?: readonly string[];
  readonly cargo?: readonly string[];
  readonly gem?: readonly string[];
  readonly go?: readonly string[];
  readonly npm?: readonly string[];
  readonly pip?: readonly string[];
}

/** Outbound network policy. */
export type Networking =
  | { readonly type: "unrestricted" }
  | {
      readonly type: "limited";
      readonly allowedHosts?: readonly string[];
      readonly allowMcpServers?: boolean;
      readonly allowPackageManagers?: boolean;
    };

/** The container the agent works in. */
export interface Environment {
  readonly packages?: Packages;
  readonly networking?: Networking;
}

/** Fields every variable type has. */
interface VariableCommon<D> {
  /** Free text for people. */
  readonly description?: string;
  /** Whether a submission must give a value; by default, unless there is a default. */
  readonly required?: boolean;
  /** The value used when a submission gives none. */
  readonly default?: D;
}

/** A text variable; lengths count Unicode scalar values. */
export interface StringVariable extends VariableCommon<string> {
  readonly type: "string";
  readonly minLength?: number;
  readonly maxLength?: number;
}

/** A numeric variable. */
export interface NumberVariable extends VariableCommon<number> {
  readonly type: "number";
  readonly minimum?: number;
  readonly maximum?: number;
  /** Whether only whole numbers are accepted; absent means false. */
  readonly integer?: boolean;
}

/** A boolean variable. */
export interface BooleanVariable extends VariableCommon<boolean> {
  readonly type: "boolean";
}

/** A variable restricted to a list of strings. */
export interface EnumVariable<T extends string = string> extends VariableCommon<T> {
  readonly type: "enum";
  readonly values: readonly T[];
}

/** The declaration of one variable. */
export type VariableSpec = StringVariable | NumberVariable | BooleanVariable | EnumVariable;

/** Run limits; a submission may override each. */
export interface Limits {
  /** Wall-clock limit in whole seconds, at least 1. */
  readonly maxDurationSeconds?: number;
  /** Spend budget in US dollars, from 0.01 to 1,000,000. */
  readonly maxSpendUsd?: number;
}

/** What happens to the provider resources once a run ends. */
export interface CleanupPolicy {
  readonly claudeSession: "delete" | "retain";
}

/** A template document as a file holds it. */
export interface TemplateDocument<
  V extends { readonly [name: string]: VariableSpec } = { readonly [name: string]: VariableSpec },
> {
  /** Lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit, ≤ 64. */
  readonly name: string;
  readonly description?: string;
  readonly agent: Agent;
  readonly environment?: Environment;
  /** The values a submission fills in, by name (`[A-Za-z_][A-Za-z0-9_]*`). */
  readonly variables?: V;
  /** The first user message, with `{{name}}` placeholders. */
  readonly prompt: string;
  readonly limits?: Limits;
  readonly cleanup?: CleanupPolicy;
  /**
   * Whether a new provider attempt may follow a session that already used a tool (off by
   * default: the agent's side effects may happen twice).
   */
  readonly retryAfterToolUse?: boolean;
  /** Free key/value labels, copied onto each run. */
  readonly labels?: { readonly [key: string]: string };
}
