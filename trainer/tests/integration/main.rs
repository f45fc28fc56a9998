//! The trainer's integration tests in one binary: each file is a module.

mod cli;
mod common;
mod dataset;
mod doc_commands;
mod groundtruth_job;
mod inference_handler;
mod labeling;
mod publish;
mod reviewed;
mod reviewed_web;
mod sagemaker;
mod upload;
