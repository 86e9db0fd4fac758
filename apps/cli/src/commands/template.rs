//! `antpath template validate|hash|render`: offline work on template files.

use serde_json::json;

use crate::cli::TemplateCommand;
use crate::commands::print_json;
use crate::failure::{self, Failure};
use crate::vars;

/// Runs one template command.
pub fn execute(command: &TemplateCommand, json: bool) -> Result<u8, Failure> {
    match command {
        TemplateCommand::Validate { file } => match vars::load(file) {
            Ok(template) => {
                if json {
                    print_json(
                        &json!({"valid": true, "name": template.name, "hash": template.hash()}),
                    );
                } else {
                    println!(
                        "{} is a valid template ({}, {})",
                        file.display(),
                        template.name,
                        template.hash()
                    );
                }
                Ok(failure::OK)
            }
            Err(Failure::Usage { message, details }) if json => {
                print_json(&json!({"valid": false, "message": message, "problems": details}));
                eprintln!("{}", Failure::Usage { message, details }.human());
                Ok(failure::USAGE)
            }
            Err(problem) => Err(problem),
        },
        TemplateCommand::Hash { file } => {
            let template = vars::load(file)?;
            if json {
                print_json(&json!({"name": template.name, "hash": template.hash()}));
            } else {
                println!("{}", template.hash());
            }
            Ok(failure::OK)
        }
        TemplateCommand::Render { file, vars: args } => {
            let template = vars::load(file)?;
            let values = vars::collect(&template, args)?;
            let resolved =
                antpath_template::resolve_variables(&template, &values).map_err(|e| {
                    Failure::Usage {
                        message: "the variables do not fit the template:".into(),
                        details: e.into_details(),
                    }
                })?;
            let prompt =
                antpath_template::render_prompt(&template.prompt, &resolved).map_err(|errors| {
                    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    Failure::usage(format!("the prompt cannot be rendered: {}", list.join(" ")))
                })?;
            if json {
                print_json(
                    &json!({"name": template.name, "hash": template.hash(), "prompt": prompt}),
                );
            } else {
                println!("{prompt}");
            }
            Ok(failure::OK)
        }
    }
}
