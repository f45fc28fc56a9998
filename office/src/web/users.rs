//! `omni-office users add|list`: the embedded accounts (on AWS, people are users of the
//! Cognito user pool, added by an administrator: docs/office.md, "Sign-in on AWS").

use std::path::Path;

use clap::{Subcommand, ValueEnum};

use super::accounts::{Accounts, Role};

/// What `omni-office users` does.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a person. The password is read from standard input (its first line, 12 to 256
    /// characters), never from the command line.
    Add {
        /// Sign-in name: 1 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`.
        name: String,
        /// What the person may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// The people who may sign in, with their roles.
    List {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A role, as the command line names it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    /// Sees and reviews inspections.
    Reviewer,
    /// Sees inspections, changes nothing.
    Viewer,
}

/// Runs `omni-office users add|list` on the accounts in `data_dir`.
pub fn run(data_dir: &Path, command: &UsersCommand) -> Result<(), String> {
    let accounts = Accounts::open(data_dir).map_err(|e| e.to_string())?;
    match command {
        UsersCommand::Add { name, role } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let role = match role {
                RoleArg::Reviewer => Role::Reviewer,
                RoleArg::Viewer => Role::Viewer,
            };
            accounts
                .add_user(name, role, password)
                .map_err(|e| e.to_string())?;
            println!("added {name} ({})", role.as_str());
            Ok(())
        }
        UsersCommand::List { json } => {
            let users = accounts.users().map_err(|e| e.to_string())?;
            if *json {
                let list: Vec<_> = users
                    .iter()
                    .map(|(name, role)| serde_json::json!({"name": name, "role": role.as_str()}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for (name, role) in users {
                    println!("{name}\t{}", role.as_str());
                }
            }
            Ok(())
        }
    }
}
