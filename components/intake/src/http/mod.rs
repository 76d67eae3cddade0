pub mod forms;
pub mod pages;
