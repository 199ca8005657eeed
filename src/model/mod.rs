//! The model: entities (clients, balancer, app nodes, sessions) and their event handlers.
//! Models emit observations ([`observe`]); they never touch files.

pub mod balancer;
pub mod ids;
pub mod item_table;
pub mod observe;
pub mod replay;
pub mod session;
pub mod sim;
pub mod store_node;
pub mod strategy;
pub mod workload;

pub use ids::NodeRef;
pub use sim::{simulate, RunOutput};
