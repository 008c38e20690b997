//! [`Listener`] reconciliation: the TCP listener of the API load balancer, found by its
//! load balancer and port. Its target group changes in place (ModifyListener).

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, ProtocolEnum};
use berth_model::aws::{Listener, NodeKey, Resource};

use super::load_balancer::describe_load_balancers;
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A listener as ELBv2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedListener {
    arn: String,
    /// The name of its load balancer (what the desired listener refers to).
    load_balancer: String,
    port: i32,
    protocol: String,
    /// The ARN of the group it forwards to, if it forwards.
    target_group: Option<String>,
}

#[async_trait]
impl Reconcile for Listener {
    type Observed = ObservedListener;

    /// DescribeLoadBalancers by the desired listeners' load balancer names, then one
    /// DescribeListeners per load balancer found (the API takes one load balancer at a time).
    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedListener>, TaskError> {
        let mut names: Vec<String> = scope
            .desired
            .iter()
            .map(|listener| listener.load_balancer.key().name.clone())
            .collect();
        names.sort();
        names.dedup();
        let elb = &scope.clients.elb;
        let mut observed = Vec::new();
        for balancer in describe_load_balancers(elb, &names).await? {
            observed.extend(describe_listeners(elb, balancer.arn(), balancer.name()).await?);
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedListener]) -> Option<&'o ObservedListener> {
        observed.iter().find(|listener| {
            listener.load_balancer == self.load_balancer.key().name && listener.port == self.port
        })
    }

    fn output(observed: &ObservedListener) -> Output {
        Output::id(&observed.arn)
    }

    fn diff(&self, observed: &ObservedListener, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let mut fields = Vec::new();
        let target_group = deps.id_or_pending(&self.target_group);
        if observed.target_group.as_deref() != Some(target_group.as_str()) {
            fields.push(FieldChange::new(
                "target_group",
                observed.target_group.as_deref().unwrap_or_default(),
                target_group,
            ));
        }
        if observed.protocol != ProtocolEnum::Tcp.as_str() {
            fields.push(FieldChange::new(
                "protocol",
                &observed.protocol,
                ProtocolEnum::Tcp.as_str(),
            ));
        }
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("load_balancer", "", deps.id_or_pending(&self.load_balancer)),
            FieldChange::new("protocol", "", ProtocolEnum::Tcp.as_str()),
            FieldChange::new("port", "", self.port),
            FieldChange::new("target_group", "", deps.id_or_pending(&self.target_group)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let elb = &cx.clients.elb;
        let load_balancer = cx.deps.id(&self.load_balancer)?;
        // A port takes one listener: an earlier attempt's is found by port, and brought in
        // line if needed.
        if cx.attempt > 1 {
            let existing =
                describe_listeners(elb, load_balancer, &self.load_balancer.key().name).await?;
            if let Some(existing) = self.find(&existing) {
                let (action, fields) = self.diff(existing, cx.deps);
                if action == Action::Unchanged {
                    return Ok(Self::output(existing));
                }
                let change = Change {
                    key: NodeKey::new(Self::KIND, &self.name),
                    action,
                    fields,
                };
                return self.update(existing, &change, cx).await;
            }
        }
        let created = elb
            .create_listener()
            .load_balancer_arn(load_balancer)
            .protocol(ProtocolEnum::Tcp)
            .port(self.port)
            .default_actions(forward(cx.deps.id(&self.target_group)?))
            .send()
            .await
            .map_err(|error| aws_error("CreateListener", error))?;
        let arn = created
            .listeners()
            .first()
            .and_then(|listener| listener.listener_arn())
            .ok_or_else(|| missing("CreateListener", "ListenerArn"))?;
        Ok(Output::id(arn))
    }

    async fn update(
        &self,
        observed: &ObservedListener,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        cx.clients
            .elb
            .modify_listener()
            .listener_arn(&observed.arn)
            .protocol(ProtocolEnum::Tcp)
            .port(self.port)
            .default_actions(forward(cx.deps.id(&self.target_group)?))
            .send()
            .await
            .map_err(|error| aws_error("ModifyListener", error))?;
        Ok(Self::output(observed))
    }
}

fn forward(target_group: &str) -> aws_sdk_elasticloadbalancingv2::types::Action {
    aws_sdk_elasticloadbalancingv2::types::Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group)
        .build()
}

async fn describe_listeners(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    load_balancer_arn: &str,
    load_balancer_name: &str,
) -> Result<Vec<ObservedListener>, TaskError> {
    let mut observed = Vec::new();
    let mut marker = None;
    loop {
        let page = elb
            .describe_listeners()
            .load_balancer_arn(load_balancer_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(|error| aws_error("DescribeListeners", error))?;
        for listener in page.listeners() {
            observed.push(ObservedListener {
                arn: listener
                    .listener_arn()
                    .ok_or_else(|| missing("DescribeListeners", "ListenerArn"))?
                    .to_owned(),
                load_balancer: load_balancer_name.to_owned(),
                port: listener.port().unwrap_or_default(),
                protocol: listener
                    .protocol()
                    .map(|protocol| protocol.as_str().to_owned())
                    .unwrap_or_default(),
                target_group: listener
                    .default_actions()
                    .iter()
                    .find(|action| action.r#type() == Some(&ActionTypeEnum::Forward))
                    .and_then(|action| action.target_group_arn())
                    .map(str::to_owned),
            });
        }
        marker = page
            .next_marker()
            .filter(|marker| !marker.is_empty())
            .map(str::to_owned);
        if marker.is_none() {
            return Ok(observed);
        }
    }
}
