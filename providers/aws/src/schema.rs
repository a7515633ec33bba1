//! The types the `aws` provider offers, with AWS's names in snake_case as
//! Terraform's AWS provider spells them. Attributes AWS cannot change in place
//! are force-new, so a plan says which one forces a replace.

use landform_provider::{AttrType, Attribute, BlockType, Nesting, ProviderSchema, Schema};

fn a(t: AttrType) -> Attribute {
    Attribute::new(t)
}

/// What a listener or a rule does with a request.
pub fn action_block(min: usize) -> BlockType {
    use AttrType::*;
    let target_group = Schema::new(0, [("arn", a(String).required()), ("weight", a(Number).optional_computed())]);
    let stickiness = Schema::new(0, [("enabled", a(Bool).required()), ("duration", a(Number).optional_computed())]);
    let forward = Schema::new(0, [])
        .block("target_group", BlockType::new(Nesting::List, target_group).min(1).max(5))
        .block("stickiness", BlockType::new(Nesting::Single, stickiness).computed());
    let fixed = Schema::new(
        0,
        [
            ("content_type", a(String).required()),
            ("message_body", a(String)),
            ("status_code", a(String).optional_computed()),
        ],
    );
    let redirect = Schema::new(
        0,
        [
            ("status_code", a(String).required().describe("HTTP_301 or HTTP_302")),
            ("protocol", a(String).optional_computed()),
            ("port", a(String).optional_computed()),
            ("host", a(String).optional_computed()),
            ("path", a(String).optional_computed()),
            ("query", a(String).optional_computed()),
        ],
    );
    let action = Schema::new(
        0,
        [
            ("type", a(String).required().describe("forward, fixed-response or redirect")),
            ("target_group_arn", a(String).describe("For a forward to one target group")),
            ("order", a(Number).optional_computed()),
        ],
    )
    .block("forward", BlockType::new(Nesting::Single, forward))
    .block("fixed_response", BlockType::new(Nesting::Single, fixed))
    .block("redirect", BlockType::new(Nesting::Single, redirect));
    BlockType::new(Nesting::List, action).min(min)
}

pub fn schema() -> ProviderSchema {
    use AttrType::*;
    let mut s = ProviderSchema::default();
    s.resources.insert(
        "aws_lb",
        Schema::new(
            0,
            [
                ("name", a(String).required().force_new()),
                ("internal", a(Bool).optional_computed().force_new()),
                ("load_balancer_type", a(String).optional_computed().force_new().describe("application")),
                ("subnets", a(List).required()),
                ("security_groups", a(List).optional_computed()),
                ("idle_timeout", a(Number).optional_computed()),
                ("tags", a(Map)),
                ("arn", a(String).computed()),
                ("arn_suffix", a(String).computed()),
                ("dns_name", a(String).computed()),
                ("zone_id", a(String).computed()),
                ("vpc_id", a(String).computed()),
                ("id", a(String).computed()),
            ],
        ),
    );
    let health = Schema::new(
        0,
        [
            ("enabled", a(Bool).optional_computed()),
            ("path", a(String).optional_computed()),
            ("port", a(String).optional_computed()),
            ("protocol", a(String).optional_computed()),
            ("interval", a(Number).optional_computed()),
            ("timeout", a(Number).optional_computed()),
            ("healthy_threshold", a(Number).optional_computed()),
            ("unhealthy_threshold", a(Number).optional_computed()),
            ("matcher", a(String).optional_computed()),
        ],
    );
    s.resources.insert(
        "aws_lb_target_group",
        Schema::new(
            0,
            [
                ("name", a(String).required().force_new()),
                ("port", a(Number).force_new()),
                ("protocol", a(String).force_new()),
                ("vpc_id", a(String).force_new()),
                ("target_type", a(String).optional_computed().force_new().describe("instance, ip, lambda or alb")),
                ("deregistration_delay", a(Number).optional_computed()),
                ("tags", a(Map)),
                ("arn", a(String).computed()),
                ("arn_suffix", a(String).computed()),
                ("id", a(String).computed()),
            ],
        )
        .block("health_check", BlockType::new(Nesting::Single, health).computed()),
    );
    s.resources.insert(
        "aws_lb_listener",
        Schema::new(
            0,
            [
                ("load_balancer_arn", a(String).required().force_new()),
                ("port", a(Number).required()),
                ("protocol", a(String).optional_computed()),
                ("certificate_arn", a(String)),
                ("ssl_policy", a(String).optional_computed()),
                ("tags", a(Map)),
                ("arn", a(String).computed()),
                ("id", a(String).computed()),
            ],
        )
        .block("default_action", action_block(1)),
    );
    let values = || Schema::new(0, [("values", a(List).required())]);
    let header = Schema::new(0, [("http_header_name", a(String).required()), ("values", a(List).required())]);
    let condition = Schema::new(0, [])
        .block("path_pattern", BlockType::new(Nesting::Single, values()))
        .block("host_header", BlockType::new(Nesting::Single, values()))
        .block("http_header", BlockType::new(Nesting::Single, header));
    s.resources.insert(
        "aws_lb_listener_rule",
        Schema::new(
            0,
            [
                ("listener_arn", a(String).required().force_new()),
                ("priority", a(Number).required()),
                ("tags", a(Map)),
                ("arn", a(String).computed()),
                ("id", a(String).computed()),
            ],
        )
        .block("action", action_block(1))
        .block("condition", BlockType::new(Nesting::List, condition).min(1).max(5)),
    );
    s.resources.insert(
        "aws_lb_target_group_attachment",
        Schema::new(
            0,
            [
                ("target_group_arn", a(String).required().force_new()),
                ("target_id", a(String).required().force_new()),
                ("port", a(Number).force_new()),
                ("id", a(String).computed()),
            ],
        ),
    );
    s.data_sources.insert(
        "aws_lb",
        Schema::new(
            0,
            [
                ("name", a(String)),
                ("arn", a(String)),
                ("dns_name", a(String).computed()),
                ("zone_id", a(String).computed()),
                ("vpc_id", a(String).computed()),
                ("internal", a(Bool).computed()),
                ("subnets", a(List).computed()),
                ("security_groups", a(List).optional_computed()),
            ],
        ),
    );
    s.data_sources.insert(
        "aws_lb_target_group",
        Schema::new(
            0,
            [
                ("name", a(String)),
                ("arn", a(String)),
                ("port", a(Number).computed()),
                ("protocol", a(String).optional_computed()),
                ("vpc_id", a(String).computed()),
                ("target_type", a(String).computed()),
            ],
        ),
    );
    s.data_sources.insert(
        "aws_lb_target_health",
        Schema::new(
            0,
            [
                ("target_group_arn", a(String).required()),
                ("targets", a(List).computed().describe("[{ id, port, state, reason }]")),
                ("healthy", a(Number).computed()),
            ],
        ),
    );
    s
}
